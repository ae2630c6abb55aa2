"""Schemathesis over the five services' OpenAPI: no server error, every answer as declared.

The services run in-process on this test's NATS and PostgreSQL, each served by uvicorn on a free
port (`tests/fuzzing.py`); every operation gets positive and negative data with the token of
each role its route admits, a refused role and no token, from a fixed seed. Kept short for
`make test` (`MAX_EXAMPLES` per operation, role and mode); `bench/fuzz.py` is the longer run.
"""

from __future__ import annotations

import asyncio

from services.kit.settings import Settings
from spotcheck.embedded import free_port
from tests.fuzzing import SERVICES, fuzz_all, serving, signing_key

MAX_EXAMPLES = 4
SEED = 20261201


async def test_fuzzing_finds_no_server_error_and_no_undeclared_answer(
    nats_url, database_url, tmp_path
) -> None:
    settings = Settings(
        nats_url=nats_url,
        database_url=database_url,
        var_dir=tmp_path / "var",
        log_json=False,
        **{f"{name}_port": free_port() for name in SERVICES},  # type: ignore[arg-type]
    )
    async with serving(settings) as served:
        assert list(served) == list(SERVICES)
        results = await asyncio.to_thread(
            fuzz_all, served, key=signing_key(settings), max_examples=MAX_EXAMPLES, seed_value=SEED
        )
    report = "\n".join(s.line() for s in results)
    for stats in results:
        assert stats.operations >= 5, report  # the service's own routes, not only /healthz
        assert stats.requests >= 10 * stats.operations, report
        assert stats.server_errors == 0, report + "\n" + "\n".join(stats.failures)
        assert stats.failures == {}, "\n".join(f"{k}\n  {v}" for k, v in stats.failures.items())
