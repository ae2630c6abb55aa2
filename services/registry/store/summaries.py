"""SQL of the 两库 summaries: the counts, counted where the data lives, and the days sent."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from contracts.registry import DirectoryCount, DirectorySummary
from services.registry.store import Conn

Dimension = Literal["region", "entity_type", "industry", "risk_class"]
SUMMARY_LOCK = 0x5EC0_0008
"""One summary decision at a time across the registry's copies (transaction lock)."""

_ENTITY_COUNTS = """
SELECT GROUPING(region_code) = 0 AS by_region, GROUPING(entity_type) = 0 AS by_type,
       GROUPING(industry_code) = 0 AS by_industry, GROUPING(rc) = 0 AS by_risk,
       region_code, entity_type, industry_code, rc, count(*) AS n
FROM (SELECT region_code, entity_type, industry_code, coalesce(risk_class, '') AS rc
      FROM entities) e
GROUP BY GROUPING SETS ((region_code), (entity_type), (industry_code), (rc), ())
"""

_INSPECTOR_COUNTS = """
SELECT GROUPING(department) = 0 AS by_department, GROUPING(q) = 0 AS by_qualification,
       department, q, count(*) AS n
FROM (SELECT department,
             CASE WHEN certificate_expiry >= $1 THEN 'valid' ELSE 'expired' END AS q
      FROM inspectors) i
GROUP BY GROUPING SETS ((department), (q), ())
"""


async def count_directories(conn: Conn, day: date) -> tuple[int, int, list[DirectoryCount]]:
    """(entities, inspectors, the counts by dimension), sorted by directory, dimension, code."""
    counts: list[DirectoryCount] = []
    entities = inspectors = 0
    for r in await conn.fetch(_ENTITY_COUNTS):
        pairs: tuple[tuple[Dimension, bool, str], ...] = (
            ("region", r["by_region"], r["region_code"]),
            ("entity_type", r["by_type"], r["entity_type"]),
            ("industry", r["by_industry"], r["industry_code"]),
            ("risk_class", r["by_risk"], r["rc"]),
        )
        grouped: list[tuple[Dimension, str]] = [(dim, code) for dim, on, code in pairs if on]
        if not grouped:
            entities = int(r["n"])
        for dim, code in grouped:
            counts.append(
                DirectoryCount(directory="entities", dimension=dim, code=code, count=r["n"])
            )
    for r in await conn.fetch(_INSPECTOR_COUNTS, day):
        if r["by_department"]:
            counts.append(
                DirectoryCount(
                    directory="inspectors",
                    dimension="department",
                    code=r["department"],
                    count=r["n"],
                )
            )
        elif r["by_qualification"]:
            counts.append(
                DirectoryCount(
                    directory="inspectors", dimension="qualification", code=r["q"], count=r["n"]
                )
            )
        else:
            inspectors = int(r["n"])
    counts.sort(key=lambda c: (c.directory, c.dimension, c.code))
    return entities, inspectors, counts


async def lock_summaries(conn: Conn) -> None:
    """Hold the summaries' lock until the transaction ends."""
    await conn.execute("SELECT pg_advisory_xact_lock($1)", SUMMARY_LOCK)


async def day_looked(conn: Conn, day: date) -> bool | None:
    """Whether that day's summary was sent (True), only looked at (False), or neither (None)."""
    sent = await conn.fetchval("SELECT sent FROM directory_summaries WHERE day = $1", day)
    return None if sent is None else bool(sent)


async def last_sent(conn: Conn) -> str | None:
    """The digest of the newest summary sent."""
    digest = await conn.fetchval(
        "SELECT sha256 FROM directory_summaries WHERE sent ORDER BY day DESC LIMIT 1"
    )
    return None if digest is None else str(digest)


async def save_look(conn: Conn, day: date, sha256: str) -> None:
    """Record that the day was counted and nothing had changed."""
    await conn.execute(
        "INSERT INTO directory_summaries (day, sha256, sent) VALUES ($1, $2, false)"
        " ON CONFLICT (day) DO NOTHING",
        day,
        sha256,
    )


async def save_summary(conn: Conn, summary: DirectorySummary) -> None:
    """Record the day's summary as sent (over a look earlier that day)."""
    data: Any = summary.model_dump(mode="json")
    await conn.execute(
        "INSERT INTO directory_summaries (day, sha256, sent, summary) VALUES ($1, $2, true, $3)"
        " ON CONFLICT (day) DO UPDATE SET sha256 = $2, sent = true, summary = $3,"
        " created_at = now()",
        summary.day,
        summary.sha256,
        data,
    )
