"""Benchmark-style fuzz run: schemathesis over the five services' OpenAPI, longer than the test.

Starts a real nats-server and embedded PostgreSQL, the five services in this process (as the
integration tests run them), each served by uvicorn on a free port, and runs the fuzzer of
`tests/fuzzing.py` (every operation, positive and negative data, a token of each role the
route admits, a refused role and no token; a fixed seed) with `--max-examples` per operation,
role and mode. Prints, per service, the requests made, the server errors (5xx) and the checks
that failed, with one example of each.

    .venv/bin/python bench/fuzz.py [--max-examples 100] [--seed 20261201] [--services draw,web]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.kit.settings import Settings  # noqa: E402
from spotcheck.embedded import (  # noqa: E402
    EmbeddedPostgres,
    free_port,
    start_nats,
    stop_process,
    with_database,
)
from tests.fuzzing import SERVICES, fuzz_service, serving, signing_key  # noqa: E402


async def run(args: argparse.Namespace, tmp: Path) -> int:
    names = [n for n in SERVICES if n in args.services.split(",")]
    pg = EmbeddedPostgres(tmp / "pg")
    pg_url = pg.start()
    nats_port = free_port()
    nats = start_nats(tmp / "nats", port=nats_port, log_file=tmp / "nats.log")
    try:
        ports = {f"{name}_port": free_port() for name in SERVICES}
        settings = Settings(
            nats_url=f"nats://127.0.0.1:{nats_port}",
            database_url=with_database(pg_url, "postgres"),
            var_dir=tmp / "var",
            rules_dir=ROOT / "rules",
            log_json=False,
            **ports,  # type: ignore[arg-type]
        )
        key = signing_key(settings)
        total_requests = total_5xx = total_failed = 0
        started_at = time.perf_counter()
        async with serving(settings) as served:
            print(
                f"fuzzing {', '.join(names)}: max_examples={args.max_examples} seed={args.seed}",
                flush=True,
            )
            for name in names:
                stats = await asyncio.to_thread(
                    fuzz_service,
                    served[name],
                    key=key,
                    max_examples=args.max_examples,
                    seed_value=args.seed,
                )
                print(stats.line(), flush=True)
                for label, example in sorted(stats.failures.items())[: args.show]:
                    print(f"    {label}\n      {example}")
                total_requests += stats.requests
                total_5xx += stats.server_errors
                total_failed += len(stats.failures)
        print(
            f"total      {total_requests} requests {total_5xx} 5xx {total_failed} failed checks "
            f"in {time.perf_counter() - started_at:.0f} s"
        )
        return 0
    finally:
        stop_process(nats)
        pg.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--services", default=",".join(SERVICES))
    parser.add_argument("--show", type=int, default=40, help="failed checks shown per service")
    args = parser.parse_args()
    logging.basicConfig(level=logging.CRITICAL)
    # a folder the embedded PostgreSQL may enter when it runs as a user of its own (as root)
    tmp = Path(tempfile.mkdtemp(prefix="spotcheck-fuzz-"))
    tmp.chmod(0o755)
    sys.exit(asyncio.run(run(args, tmp)))


if __name__ == "__main__":
    main()
