"""Benchmark: a province draw (5M entities, 800 strata, 5%) and its teams (250k tasks).

Same run, same PostgreSQL:
- `random()`: the stratified `row_number() OVER (PARTITION BY … ORDER BY random())` query,
  its picks fetched to the client (what today's systems do, unverifiable);
- floor: COPY of the ordered ids out + one SHA-256 per candidate;
- ours: freeze (ordered COPY out, per-stratum lists and their `candidates_sha256`) + commit +
  select (tickets, k smallest) with the service's own `services/draw/domain/spec.py`;
- teams: tasks from the selection and `assign_teams` over 5,000 inspectors;
- service extras: what the draw service adds on top (its immutable copy of the lists and the
  ticket-lookup index, written by COPY) — reported apart.
Targets: ours ≥ 3× faster than `random()`; ours ≤ 2× floor; whole draw (ours + teams) ≤ 3×
`random()`. Prints peak memory (ru_maxrss).

    .venv/bin/python bench/draw.py [--entities 5000000] [--database-url URL]

Without --database-url an embedded PostgreSQL is started in a temporary folder. With it (e.g.
the machine's PostgreSQL 15: postgresql://postgres@127.0.0.1:5432/test) everything lives in a
fresh schema `bench_draw_<random>` that is dropped at the end, so no rows stay behind. The 5M
rows are loaded into a bare table (the registry's import is another service's benchmark).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import io
import resource
import shutil
import sys
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402

from services.draw.domain import spec, tasks, teams  # noqa: E402
from services.draw.gcpause import paused_gc  # noqa: E402

SEED = "31415926535897932384626433832795"
BP = 500


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def load(conn: asyncpg.Connection, entities: int, regions: int) -> float:
    """A bare entity table: USCC-shaped ids, `regions` regions × 4 risk classes."""
    t = time.perf_counter()
    await conn.execute("DROP TABLE IF EXISTS bench_entities")
    await conn.execute(
        "CREATE TABLE bench_entities (uscc text NOT NULL, region_code text NOT NULL, "
        "risk_class text NOT NULL)"
    )
    buf = io.BytesIO()
    for i in range(entities):
        h = (i * 2654435761) & 0xFFFFFFFF
        region = 360100 + (h % regions)
        risk = "ABCD"[(h >> 8) & 3]
        buf.write(f"91{region}MA{i:08X}\t{region}\t{risk}\n".encode())
    buf.seek(0)
    await conn.copy_to_table("bench_entities", source=buf, format="text")
    # What a registry keeps for freezing: strata columns + the ids in byte order.
    await conn.execute(
        "CREATE INDEX bench_entities_stratum ON bench_entities "
        '(region_code, risk_class, uscc COLLATE "C")'
    )
    await conn.execute("VACUUM ANALYZE bench_entities")
    return time.perf_counter() - t


async def random_query(conn: asyncpg.Connection, work_mem: str) -> tuple[float, int]:
    await conn.execute(f"SET work_mem = '{work_mem}'")
    t = time.perf_counter()
    rows = await conn.fetch(
        "SELECT uscc, region_code, risk_class FROM ("
        " SELECT uscc, region_code, risk_class,"
        "  row_number() OVER (PARTITION BY region_code, risk_class ORDER BY random()) AS rn,"
        "  count(*) OVER (PARTITION BY region_code, risk_class) AS n"
        " FROM bench_entities) t WHERE rn <= (n * $1 + 9999) / 10000",
        BP,
    )
    return time.perf_counter() - t, len(rows)


ORDERED = 'SELECT uscc FROM bench_entities ORDER BY region_code, risk_class, uscc COLLATE "C"'
COUNTS = (
    "SELECT region_code || '.' || risk_class AS s, count(*) AS n FROM bench_entities "
    "GROUP BY region_code, risk_class ORDER BY region_code, risk_class"
)


async def copy_out(conn: asyncpg.Connection) -> bytes:
    out = bytearray()

    async def sink(chunk: bytes) -> None:
        out.extend(chunk)

    await conn.copy_from_query(ORDERED, output=sink)
    return bytes(out)


async def floor(conn: asyncpg.Connection) -> float:
    t = time.perf_counter()
    data = await copy_out(conn)
    sha = hashlib.sha256
    for line in data.split(b"\n")[:-1]:
        sha(line).digest()
    return time.perf_counter() - t


async def ours(
    conn: asyncpg.Connection, counts_conn: asyncpg.Connection
) -> tuple[
    dict[str, float], list[tuple[str, list[tuple[str, str]]]], str, list[tuple[str, list[bytes]]]
]:
    """Freeze + commit + select through the service's spec module."""
    times: dict[str, float] = {}
    t0 = time.perf_counter()
    data, counts = await asyncio.gather(copy_out(conn), counts_conn.fetch(COUNTS))
    times["copy out (ordered) + counts"] = time.perf_counter() - t0
    t = time.perf_counter()
    lines = data.split(b"\n")[:-1]
    del data
    strata: list[tuple[str, list[bytes]]] = []
    at = 0
    for row in counts:
        strata.append((f"2026.SCJG-001.{row['s']}", lines[at : at + row["n"]]))
        at += row["n"]
    del lines
    times["split into strata"] = time.perf_counter() - t
    t = time.perf_counter()
    committed = []
    for sid, lst in strata:
        h = spec.CandidateHasher()
        h.update_lines(lst)
        committed.append(
            spec.CommittedStratum(sid, h.n, spec.sample_size(h.n, bp=BP), h.hexdigest())
        )
    commitment = spec.commitment_sha256(committed)
    times["candidates_sha256 + commitment"] = time.perf_counter() - t
    t = time.perf_counter()
    picks = [
        (sid, spec.select_lines(SEED, sid, lst, c.k))
        for (sid, lst), c in zip(strata, committed, strict=True)
    ]
    times["tickets + k smallest"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - t0
    return times, picks, commitment, strata


def team_run(
    picks: list[tuple[str, list[tuple[str, str]]]], n_inspectors: int, regions: int
) -> tuple[float, float, int, int, int]:
    t = time.perf_counter()
    selections = [
        tasks.StratumSelection(sid, tuple(p), ("SCJG-001",), ("SCJG",), (), 4) for sid, p in picks
    ]
    with paused_gc():  # as the service builds them (services/draw/gcpause.py)
        drafts = tasks.build_tasks(
            draw_id="D-bench",
            plan_id="P-bench",
            selections=selections,
            period_start=date(2026, 4, 1),
            period_end=date(2026, 11, 30),
        )
    need = {"SCJG": frozenset({"general"})}
    with paused_gc():  # as services/draw/commands/selection.py builds them
        team_tasks = [
            teams.TeamTask(
                task_id=d.task_id,
                uscc=d.uscc,
                regions=(d.uscc[2:8],),
                departments=d.departments,
                check_date=d.period_end,
                expertise=need,
                last_inspectors=frozenset({f"I{(i * 7) % n_inspectors:05d}"}),
            )
            for i, d in enumerate(drafts)
        ]
    build = time.perf_counter() - t
    people = [
        teams.Inspector(
            inspector_id=f"I{i:05d}",
            department="SCJG",
            region_codes=frozenset({str(360100 + i % regions)}),
            expertise=frozenset({"general", "food"} if i % 3 else {"general"}),
            certificate_expiry=date(2028, 1, 1) if i % 50 else date(2026, 6, 1),
            active=i % 97 != 0,
            capacity=150,
            recusal_usccs=frozenset(),
        )
        for i in range(n_inspectors)
    ]
    t = time.perf_counter()
    with paused_gc():
        result = teams.assign_teams(SEED, team_tasks, people)
    assign = time.perf_counter() - t
    counts = list(result.counts.values())
    spread = max(counts) - min(counts) if counts else 0
    return build, assign, len(result.teams), len(result.unstaffed), spread


async def service_extras(
    conn: asyncpg.Connection, strata: list[tuple[str, bytes]], probe: str
) -> tuple[float, float]:
    """The service's own immutable copy of the lists (one bytea per stratum) and one lookup."""
    await conn.execute("DROP TABLE IF EXISTS bench_lists")
    await conn.execute("CREATE TABLE bench_lists (stratum_id text PRIMARY KEY, body bytea)")
    await conn.execute("ALTER TABLE bench_lists ALTER COLUMN body SET STORAGE EXTERNAL")
    t = time.perf_counter()
    await conn.executemany("INSERT INTO bench_lists VALUES ($1, $2)", strata)
    store = time.perf_counter() - t
    t = time.perf_counter()
    rows = await conn.fetch(
        "SELECT stratum_id FROM bench_lists "
        "WHERE position($1::bytea IN ('\\x0a'::bytea || body)) > 0",
        b"\n" + probe.encode() + b"\n",
    )
    assert len(rows) == 1, rows
    return store, time.perf_counter() - t


async def main_async(args: argparse.Namespace) -> None:
    url = args.database_url
    pg = None
    if not url:
        from spotcheck.embedded import EmbeddedPostgres

        folder = Path(tempfile.mkdtemp(prefix="bench-draw-"))
        pg = EmbeddedPostgres(folder / "data")
        url = pg.start()
    # A fresh schema, dropped at the end: nothing of the benchmark stays in a shared server.
    schema = f"bench_draw_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(url)
    await admin.execute(f"CREATE SCHEMA {schema}")
    settings = {"search_path": schema}
    conn = await asyncpg.connect(url, server_settings=settings)
    conn2 = await asyncpg.connect(url, server_settings=settings)
    try:
        version = await conn.fetchval("SHOW server_version")
        print(f"PostgreSQL {version}, schema {schema}")
        loaded = await load(conn, args.entities, args.regions)
        print(f"load {args.entities:,} rows (COPY + index)   {loaded:6.2f} s  (setup, not timed)")
        rnd, n_rnd = await random_query(conn, "4MB")  # PostgreSQL's default: the sort spills
        rnd_mem, _ = await random_query(conn, "256MB")  # a tuned server sorts in memory
        await conn.execute("RESET work_mem")
        flo = await floor(conn)
        times, picks, commitment, lists = await ours(conn, conn2)
        selected = sum(len(p) for _, p in picks)
        print(f"strata {len(picks)}, selected {selected:,} (random() query picked {n_rnd:,})")
        print(f"random() stratified query (4MB)    {rnd:6.2f} s")
        print(f"random() stratified query (256MB)  {rnd_mem:6.2f} s")
        print(f"floor (ordered COPY + SHA-256 each)  {flo:6.2f} s")
        for name, v in times.items():
            print(f"ours: {name:<31}{v:6.2f} s")
        build, assign, staffed, unstaffed, spread = team_run(picks, args.inspectors, args.regions)
        print(f"teams: build {selected:,} tasks            {build:6.2f} s")
        print(
            f"teams: assign ({args.inspectors:,} inspectors)      {assign:6.2f} s  "
            f"staffed {staffed:,}, unstaffed {unstaffed:,}, load spread {spread}"
        )
        whole = times["total"] + build + assign
        blobs = [(sid, b"".join(u + b"\n" for u in lst)) for sid, lst in lists]
        stored, lookup = await service_extras(conn, blobs, picks[-1][1][0][1])
        print(f"service: store 800 lists (bytea)   {stored:6.2f} s")
        print(f"service: one company's ticket lookup {lookup:5.2f} s")
        print(f"commitment {commitment}")
        print(
            f"ours vs random(): {rnd / times['total']:.2f}x faster (target >= 3); "
            f"ours vs floor: {times['total'] / flo:.2f}x (target <= 2); "
            f"whole draw vs random(): {whole / rnd:.2f}x (target <= 3)"
        )
        print(
            f"against random() with work_mem 256MB: ours {rnd_mem / times['total']:.2f}x faster, "
            f"whole draw {whole / rnd_mem:.2f}x"
        )
        print(f"peak memory (ru_maxrss) {_peak_mb():,.0f} MB")
    finally:
        await conn.close()
        await conn2.close()
        await admin.execute(f"DROP SCHEMA {schema} CASCADE")
        await admin.close()
        if pg is not None:
            pg.stop()
            shutil.rmtree(folder, ignore_errors=True)  # the embedded cluster: ~0.5-2 GB


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=5_000_000)
    parser.add_argument("--regions", type=int, default=200)
    parser.add_argument("--inspectors", type=int, default=5_000)
    parser.add_argument("--database-url", default=None)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
