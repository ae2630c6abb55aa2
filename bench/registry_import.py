"""Registry at province scale: validated import vs raw COPY, freeze vs ordered COPY out.

    .venv/bin/python bench/registry_import.py                  # 5,000,000 entities, 800 strata
    .venv/bin/python bench/registry_import.py --entities 500000 # smaller, when time is short

Starts its own embedded PostgreSQL and NATS (or uses SPOTCHECK_DATABASE_URL / SPOTCHECK_NATS_URL
when --external is given), generates the entities file, then in the same run times:
  1. raw `COPY … FROM STDIN (FORMAT csv, FREEZE)` of the file into a bare UNLOGGED table of
     text columns created in the same transaction (the fastest plain load), before and after
     each import;
  2. the validated import into the empty directory (screen or validate every field and USCC
     check character, stage, duplicate check, build, audit entry), `--repeat` times (2) with
     the directory emptied in between — target ≤ 5× raw COPY, best against best (the median
     ratio is printed too);
  3. the same import again (idempotent: nothing changes);
  4. freezing 800 strata (risk class × county × entity kind) with commitments, blocks in
     PostgreSQL and lists in the NATS object store, `--repeat` times — beside
  5. `COPY (SELECT uscc … ORDER BY uscc COLLATE "C") TO STDOUT` of the same rows, before and
     after each freeze — target ≤ 2×, best against best.
Prints the peak memory (max RSS) of this process after each phase.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import asyncpg

from contracts import subjects
from contracts.registry import EntityFilter, FreezeRequest, StratumSpec
from services.kit.audit import AuditTrail
from services.kit.bus import Bus
from services.kit.db import Database
from services.registry.commands import freeze as snapshots
from services.registry.commands.imports import Importer
from services.registry.domain import synthetic
from services.registry.domain.codes import counties_in
from services.registry.domain.rows import ENTITY_FIELDS, Vocabulary
from spotcheck.commands.registry import chunks
from spotcheck.embedded import (
    EmbeddedPostgres,
    free_port,
    start_nats,
    stop_process,
    with_database,
)

MIGRATIONS = Path(__file__).resolve().parent.parent / "services" / "registry" / "migrations"


def peak_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def strata(count: int) -> list[StratumSpec]:
    """`count` strata: risk class × county of Jiangxi × (企业 | 个体工商户 and 合作社)."""
    out = []
    kinds = (("ENT", ["企业"]), ("IND", ["个体工商户", "农民专业合作社"]))
    for cls in "ABCD":
        for county in counties_in("36"):
            for tag, types in kinds:
                out.append(
                    StratumSpec(
                        stratum_id=f"2026.SCJG.{cls}.{county}.{tag}",
                        # every key-supervision label out, as the ordered COPY baseline
                        # below (and the runs recorded before labels were per item) filter
                        filter=EntityFilter(
                            region_prefixes=[county],
                            risk_classes=[cls],
                            entity_types=types,
                            exclude_key_supervision=True,
                        ),
                    )
                )
    return out[:count]


async def run(args: argparse.Namespace) -> dict[str, Any]:
    work: Path = args.work
    figures: dict[str, Any] = dict(args.figures)
    pg: EmbeddedPostgres | None = None
    nats_proc = None
    if args.external:
        server_url = os.environ["SPOTCHECK_DATABASE_URL"]
        nats_url = os.environ["SPOTCHECK_NATS_URL"]
    else:
        pg = EmbeddedPostgres(work / "pg")
        server_url = pg.start()
        port = free_port()
        nats_proc = start_nats(work / "nats", port=port, log_file=work / "nats.log")
        nats_url = f"nats://127.0.0.1:{port}"
    try:
        conn = await asyncpg.connect(server_url)
        name = f"bench_{int(time.time())}"
        await conn.execute(f'CREATE DATABASE "{name}"')
        await conn.close()
        url = with_database(server_url, name)

        csv_path = work / "entities.csv"
        figures["file_mb"] = csv_path.stat().st_size / 1e6

        db = Database(url=url, schema="registry", pool_max=4)
        await db.connect()
        await db.migrate(MIGRATIONS)
        bus = await Bus.connect(nats_url, name="bench-registry")
        audit = AuditTrail(service="registry", db=db, bus=None)
        importer = Importer(db=db, audit=audit, vocab=Vocabulary(), workers=args.workers)
        # as in the running service, whose worker processes start with it
        await importer.start_workers()

        # 1. raw COPY of the same file into a bare table: the fastest plain load we know (an
        # UNLOGGED table created in the same transaction, so that COPY can FREEZE its rows).
        # Measured before and after each import (the machine's speed drifts over minutes);
        # the ratio is taken between the best of each.
        cols = ", ".join(f"{c} text" for c in ENTITY_FIELDS)

        async def raw_copy() -> float:
            async with db.pool.acquire() as c:
                t = time.perf_counter()
                async with c.transaction():
                    await c.execute(f"CREATE UNLOGGED TABLE bare_rows ({cols})")
                    await c.copy_to_table(
                        "bare_rows",
                        source=csv_path,
                        format="csv",
                        header=True,
                        columns=list(ENTITY_FIELDS),
                        freeze=True,
                    )
                took = time.perf_counter() - t
                await c.execute("DROP TABLE bare_rows")
            print(f"raw COPY            {took:7.1f} s   peak {peak_mb():.0f} MB")
            return took

        raw_times = [await raw_copy()]

        # 2. validated import
        rejects = 0

        def on_reject(_: Any) -> None:
            nonlocal rejects
            rejects += 1

        async def validated() -> dict[str, Any]:
            # What `spotcheck registry import` makes the service do, without the HTTP hop:
            # chunks of whole records staged by worker processes (one more in flight than
            # there are workers, so that none waits for the next chunk), then commit.
            t0 = time.perf_counter()
            import_id = await importer.open("entities", source=csv_path.name, actor="bench")
            pending: set[asyncio.Task[Any]] = set()
            for chunk in chunks(csv_path, 50_000):
                if len(pending) > args.workers:
                    done, pending = await asyncio.wait(pending, return_when="FIRST_COMPLETED")
                    for d in done:
                        for r in d.result()[1]:
                            on_reject(r)
                pending.add(
                    asyncio.create_task(
                        importer.load_chunk_text(
                            import_id,
                            chunk.number,
                            chunk.data,
                            first_line=chunk.first_line,
                            fmt="csv",
                        )
                    )
                )
            for d in await asyncio.gather(*pending):
                for r in d[1]:
                    on_reject(r)
            t1 = time.perf_counter()
            summary = await importer.commit(import_id, actor="bench", on_reject=on_reject)
            t2 = time.perf_counter()
            print(f"    validate+stage {t1 - t0:.1f} s, commit {t2 - t1:.1f} s")
            return summary

        # the first load of an empty directory, twice (emptied in between), a raw COPY after each
        import_times = []
        for attempt in range(args.repeat):
            async with db.pool.acquire() as c:
                if attempt:
                    await c.execute("TRUNCATE entities")
                # as on a server that has not just written gigabytes: the WAL of one first
                # load (~2 GB) would otherwise make the next one checkpoint half-way
                await c.execute("CHECKPOINT")
            t = time.perf_counter()
            summary = await validated()
            import_times.append(time.perf_counter() - t)
            print(
                f"validated import    {import_times[-1]:7.1f} s   "
                f"{import_times[-1] / raw_times[-1]:.2f}× the raw COPY before it"
                f"   accepted {summary['accepted']:,} rejected {summary['rejected']:,}"
                f"   peak {peak_mb():.0f} MB"
            )
            raw_times.append(await raw_copy())
        figures["raw_copy_s"] = min(raw_times)
        figures["raw_copy_all_s"] = [round(x, 2) for x in raw_times]
        figures["import_s"] = min(import_times)
        figures["import_all_s"] = [round(x, 2) for x in import_times]
        figures["import_accepted"] = summary["accepted"]
        figures["import_rejected"] = summary["rejected"]
        figures["import_ratio"] = figures["import_s"] / figures["raw_copy_s"]
        median_ratio = statistics.median(import_times) / statistics.median(raw_times)
        figures["import_ratio_median"] = median_ratio
        print(
            f"validated import: best {figures['import_s']:.1f} s / best raw COPY "
            f"{figures['raw_copy_s']:.1f} s = {figures['import_ratio']:.2f}×; "
            f"median / median = {median_ratio:.2f}×"
        )

        # 3. the same file again
        t = time.perf_counter()
        again = await validated()
        figures["reimport_s"] = time.perf_counter() - t
        figures["reimport_changed"] = again["changed"]
        print(
            f"re-import (same)    {figures['reimport_s']:7.1f} s   changed {again['changed']:,}"
            f"   peak {peak_mb():.0f} MB"
        )
        async with db.pool.acquire() as c:
            await c.execute("VACUUM ANALYZE entities")

        # 4. baseline: the same rows ordered out of PostgreSQL
        specs = strata(args.strata)
        sink = 0

        async def count(data: bytes) -> None:
            nonlocal sink
            sink += len(data)

        async def copy_out() -> float:
            nonlocal sink
            sink = 0
            async with db.pool.acquire() as c:
                t = time.perf_counter()
                await c.copy_from_query(
                    "SELECT uscc FROM entities WHERE status IN ('存续', '在业')"
                    " AND cardinality(key_supervision) = 0 AND risk_class IS NOT NULL"
                    " AND region_code LIKE '36%' ORDER BY uscc COLLATE \"C\"",
                    output=count,
                )
                took = time.perf_counter() - t
            print(f"COPY ordered out    {took:7.1f} s   ({sink / 19:,.0f} rows)")
            return took

        # 5. freeze, `--repeat` times (each a new snapshot), an ordered COPY out before and
        # after each; best against best, as for the import
        obs = await bus.object_store(subjects.SNAPSHOTS_BUCKET)
        upload, fetch = snapshots.object_store_io(obs)
        copy_times = [await copy_out()]
        freeze_times = []
        for attempt in range(args.repeat):
            t = time.perf_counter()
            reply = await snapshots.freeze(
                db,
                FreezeRequest(request_id=f"bench-{time.time()}-{attempt}", strata=specs),
                upload=upload,
                fetch=fetch,
            )
            freeze_times.append(time.perf_counter() - t)
            print(
                f"freeze {len(specs)} strata  {freeze_times[-1]:7.1f} s   "
                f"{freeze_times[-1] / copy_times[-1]:.2f}× the COPY out before it"
                f"   candidates {sum(s.n for s in reply.strata):,}   peak {peak_mb():.0f} MB"
            )
            copy_times.append(await copy_out())
        figures["copy_out_s"] = min(copy_times)
        figures["copy_out_all_s"] = [round(x, 2) for x in copy_times]
        figures["freeze_s"] = min(freeze_times)
        figures["freeze_all_s"] = [round(x, 2) for x in freeze_times]
        figures["freeze_n"] = sum(s.n for s in reply.strata)
        figures["freeze_ratio"] = figures["freeze_s"] / figures["copy_out_s"]
        figures["freeze_ratio_median"] = statistics.median(freeze_times) / statistics.median(
            copy_times
        )
        print(
            f"freeze: best {figures['freeze_s']:.1f} s / best COPY out "
            f"{figures['copy_out_s']:.1f} s = {figures['freeze_ratio']:.2f}×; "
            f"median / median = {figures['freeze_ratio_median']:.2f}×"
        )
        figures["peak_mb"] = peak_mb()
        importer.close()
        figures["workers_peak_mb"] = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(
            f"peak memory: this process {figures['peak_mb']:.0f} MB, "
            f"largest finished child process {figures['workers_peak_mb']:.0f} MB"
        )
        await bus.close()
        await db.close()
    finally:
        if nats_proc is not None:
            stop_process(nats_proc)
        if pg is not None:
            pg.stop()
    return figures


def main() -> None:
    import logging

    logging.basicConfig(level=logging.INFO, format="    %(message)s")
    logging.getLogger("nats").setLevel(logging.WARNING)
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--entities", type=int, default=5_000_000)
    parser.add_argument("--strata", type=int, default=800)
    parser.add_argument("--workers", type=int, default=2, help="Import worker processes")
    parser.add_argument(
        "--repeat", type=int, default=2, help="First loads to time (raw COPY before and after each)"
    )
    parser.add_argument("--dir", help="Work folder (kept; reuses entities.csv if present)")
    parser.add_argument("--regenerate", action="store_true", help="Rewrite entities.csv")
    parser.add_argument(
        "--external", action="store_true", help="Use SPOTCHECK_DATABASE_URL and SPOTCHECK_NATS_URL"
    )
    args = parser.parse_args()
    args.work = Path(args.dir or tempfile.mkdtemp(prefix="bench-registry-"))
    args.work.mkdir(parents=True, exist_ok=True)
    args.figures = {"entities": args.entities, "strata": args.strata}
    csv_path = args.work / "entities.csv"
    if not csv_path.exists() or args.regenerate:
        t = time.perf_counter()
        with csv_path.open("w", encoding="utf-8", newline="") as f:
            synthetic.write_entities(f, args.entities, province="36", seed=2026)
        args.figures["generate_s"] = time.perf_counter() - t
        print(f"generated {args.entities:,} entities in {args.figures['generate_s']:.1f} s")
    figures = asyncio.run(run(args))
    print({k: round(v, 2) if isinstance(v, float) else v for k, v in figures.items()})


if __name__ == "__main__":
    main()
