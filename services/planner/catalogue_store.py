"""SQL of the planner's exchange with the platforms (issue 19): catalogue imports from
互联网+监管 and the 监督平台's acknowledgements of plan filings (asyncpg).

Beside `store.py` (which holds rule sets and plans) so that neither file outgrows itself; the
tables are the planner's own (migrations/004_catalogue_imports.sql).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from services.kit.db import Database


def _row(r: Any) -> dict[str, Any]:
    out = dict(r)
    out["created_at"] = r["created_at"].isoformat()
    return out


class CatalogueStore:
    """Catalogue imports and plan filing acknowledgements."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    # ---- catalogue imports ----------------------------------------------------------------

    async def lock_imports(self, conn: Any) -> None:
        """Serialise imports across planner copies (two copies polling the same URL at once
        record one import). Released at commit or rollback."""
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('planner:catalogue-import'))")

    async def last_import(self, conn: Any, source: str) -> dict[str, Any] | None:
        """The newest import from `source` (with its diff)."""
        row = await conn.fetchrow(
            "SELECT * FROM catalogue_imports WHERE source = $1 ORDER BY import_id DESC LIMIT 1",
            source,
        )
        return None if row is None else _row(row)

    async def add_import(
        self,
        conn: Any,
        *,
        source: str,
        file_name: str,
        sha256: str,
        fmt: str,
        encoding: str,
        rows: int,
        based_on: str | None,
        candidate_id: str | None,
        diff: dict[str, Any],
        actor: str,
    ) -> int:
        """Record an import; its id."""
        import_id: int = await conn.fetchval(
            "INSERT INTO catalogue_imports (source, file_name, sha256, format, encoding, rows,"
            " based_on, candidate_id, diff, imported_by)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING import_id",
            source,
            file_name,
            sha256,
            fmt,
            encoding,
            rows,
            based_on,
            candidate_id,
            diff,
            actor,
        )
        return import_id

    async def get_import(self, import_id: int) -> dict[str, Any] | None:
        """One import with its diff."""
        row = await self.db.pool.fetchrow(
            "SELECT * FROM catalogue_imports WHERE import_id = $1", import_id
        )
        return None if row is None else _row(row)

    async def list_imports(self, limit: int) -> list[dict[str, Any]]:
        """Imports newest first, with their counts (not the whole diff)."""
        rows = await self.db.pool.fetch(
            "SELECT import_id, source, file_name, sha256, format, encoding, rows, based_on,"
            " candidate_id, imported_by, created_at,"
            " jsonb_array_length(diff->'added') AS added,"
            " jsonb_array_length(diff->'changed') AS changed,"
            " jsonb_array_length(diff->'withdrawn') AS withdrawn"
            " FROM catalogue_imports ORDER BY import_id DESC LIMIT $1",
            limit,
        )
        return [_row(r) for r in rows]

    # ---- plan filing acknowledgements -----------------------------------------------------

    async def plan_for_update(self, conn: Any, plan_id: str) -> dict[str, Any] | None:
        """A plan row locked for this transaction (two acks of one plan take turns)."""
        row = await conn.fetchrow(
            "SELECT plan_id, status, submission, created_at, filed_on, entered_on, flags"
            " FROM plans WHERE plan_id = $1 FOR UPDATE",
            plan_id,
        )
        return None if row is None else dict(row)

    async def filing(self, conn: Any, platform: str, ack_id: str) -> dict[str, Any] | None:
        """An acknowledgement already recorded under this platform's id."""
        row = await conn.fetchrow(
            "SELECT * FROM plan_filings WHERE platform = $1 AND ack_id = $2", platform, ack_id
        )
        return None if row is None else dict(row)

    async def add_filing(
        self,
        conn: Any,
        *,
        plan_id: str,
        platform: str,
        ack_id: str,
        kind: str,
        acknowledged_on: date,
        actor: str,
    ) -> None:
        """Record an acknowledgement."""
        await conn.execute(
            "INSERT INTO plan_filings (plan_id, platform, ack_id, kind, acknowledged_on,"
            " recorded_by) VALUES ($1, $2, $3, $4, $5, $6)",
            plan_id,
            platform,
            ack_id,
            kind,
            acknowledged_on,
            actor,
        )

    async def set_filing(
        self,
        conn: Any,
        plan_id: str,
        *,
        filed_on: date | None,
        entered_on: date | None,
        flags: list[str],
    ) -> None:
        """The plan's acknowledged dates and the flags computed from them."""
        await conn.execute(
            "UPDATE plans SET filed_on = $2, entered_on = $3, flags = $4 WHERE plan_id = $1",
            plan_id,
            filed_on,
            entered_on,
            flags,
        )

    async def filings_of(self, conn: Any, plan_id: str) -> list[dict[str, str]]:
        """Every acknowledgement of a plan, oldest first, as text."""
        rows = await conn.fetch(
            "SELECT platform, ack_id, kind, acknowledged_on, recorded_by, recorded_at"
            " FROM plan_filings WHERE plan_id = $1 ORDER BY recorded_at, ack_id",
            plan_id,
        )
        return [{k: str(v) for k, v in dict(r).items()} for r in rows]
