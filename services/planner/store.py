"""SQL of the planner: rule-set versions, activations, plans and their strata (asyncpg)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from services.kit.db import Database
from services.kit.errors import Conflict


class PlannerStore:
    """The planner's tables in its own schema."""

    def __init__(self, *, db: Database) -> None:
        self.db = db

    async def save_version(
        self, conn: Any, version: str, files: dict[str, str], summary: dict[str, Any]
    ) -> None:
        """Record a checked rule-set version (idempotent: same version, same files)."""
        await conn.execute(
            "INSERT INTO rule_versions (version, files, summary) VALUES ($1, $2, $3)"
            " ON CONFLICT (version) DO NOTHING",
            version,
            files,
            summary,
        )

    async def lock_activations(self, conn: Any) -> str | None:
        """Serialise activations across every planner copy; returns the active version.

        A transaction-scoped advisory lock: two copies activating at once take turns, so each
        records the version the other made active as its `previous_version`, and the later
        commit is the one active version. Released at commit or rollback.
        """
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('planner:activation'))")
        return await self.active_version(conn)

    async def active_version(self, conn: Any = None) -> str | None:
        """The active version (the newest activation), or None when none was ever activated.

        Every plan, simulation and "which rules are active" asks this first: one backward scan
        of the `activations` primary key, a single index row.
        """
        version: str | None = await (conn or self.db.pool).fetchval(
            "SELECT version FROM activations ORDER BY seq DESC LIMIT 1"
        )
        return version

    async def version_files(self, version: str) -> dict[str, str] | None:
        """The files of a stored version, as checked when it was activated."""
        files = await self.db.pool.fetchval(
            "SELECT files FROM rule_versions WHERE version = $1", version
        )
        return None if files is None else dict(files)

    async def add_activation(
        self, conn: Any, version: str, previous: str | None, actor: str
    ) -> int:
        """Append to the activation history; returns the new entry's sequence number."""
        seq: int = await conn.fetchval(
            "INSERT INTO activations (version, previous_version, activated_by) VALUES ($1, $2, $3)"
            " RETURNING seq",
            version,
            previous,
            actor,
        )
        return seq

    async def history(self, limit: int = 100) -> list[dict[str, Any]]:
        """The activation history, newest first."""
        rows = await self.db.pool.fetch(
            "SELECT seq, version, previous_version, activated_by, activated_at"
            " FROM activations ORDER BY seq DESC LIMIT $1",
            limit,
        )
        return [{**dict(r), "activated_at": r["activated_at"].isoformat()} for r in rows]

    async def plan_exists(self, plan_id: str) -> bool:
        """Whether a plan id is taken."""
        return bool(await self.db.pool.fetchval("SELECT 1 FROM plans WHERE plan_id = $1", plan_id))

    async def save_plan(
        self,
        conn: Any,
        *,
        plan_id: str,
        status: str,
        year: int,
        departments: list[str],
        submission: dict[str, Any],
        rules_version: str | None,
        approved: dict[str, Any] | None,
        reasons: list[dict[str, Any]] | None,
        flags: list[str],
        actor: str,
    ) -> None:
        """Insert a plan (approved or rejected); `Conflict` when its id is taken meanwhile."""
        try:
            await conn.execute(
                "INSERT INTO plans (plan_id, status, year, departments, submission, rules_version,"
                " approved, reasons, flags, submitted_by)"
                " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
                plan_id,
                status,
                year,
                departments,
                submission,
                rules_version,
                approved,
                reasons,
                flags,
                actor,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"plan {plan_id} already exists") from None

    async def save_strata(self, conn: Any, plan_id: str, rows: list[tuple[Any, ...]]) -> None:
        """The resolved strata (stratum_id, excluded, bp, k_estimate, explanation)."""
        await conn.executemany(
            "INSERT INTO plan_strata (plan_id, stratum_id, excluded, bp, k_estimate, explanation)"
            " VALUES ($1, $2, $3, $4, $5, $6)",
            [(plan_id, *r) for r in rows],
        )

    async def get_plan(self, plan_id: str) -> dict[str, Any] | None:
        """A stored plan row as a dict."""
        row = await self.db.pool.fetchrow("SELECT * FROM plans WHERE plan_id = $1", plan_id)
        if row is None:
            return None
        out = dict(row)
        out["created_at"] = row["created_at"].isoformat()
        return out

    async def list_plans(
        self, *, year: int | None, department: str | None, status: str | None, limit: int
    ) -> list[dict[str, Any]]:
        """Plans newest first, with what a list shows (not the strata)."""
        rows = await self.db.pool.fetch(
            "SELECT plan_id, status, year, departments, rules_version, flags, submitted_by,"
            " created_at, submission->>'title' AS title,"
            " submission->>'lead_department' AS lead_department,"
            # the platform's acknowledged dates, when it sent them, over the submitted ones
            " coalesce(filed_on::text, submission->>'filed_on') AS filed_on,"
            " coalesce(entered_on::text, submission->>'entered_on') AS entered_on,"
            " approved->'joint' AS joint, approved->'joint_share_bp' AS joint_share_bp,"
            " jsonb_array_length(coalesce(approved->'strata', '[]'::jsonb)) AS strata,"
            " jsonb_array_length(coalesce(reasons, '[]'::jsonb)) AS reasons"
            " FROM plans"
            " WHERE ($1::int IS NULL OR year = $1) AND ($2::text IS NULL OR $2 = ANY(departments))"
            " AND ($3::text IS NULL OR status = $3)"
            " ORDER BY created_at DESC, plan_id LIMIT $4",
            year,
            department,
            status,
            limit,
        )
        return [
            {
                **dict(r),
                "created_at": r["created_at"].isoformat(),
                "joint": bool(r["joint"]),
                "lead_department": r["lead_department"] or r["departments"][0],
            }
            for r in rows
        ]

    async def save_candidate(
        self,
        conn: Any,
        *,
        candidate_id: str,
        files: dict[str, str],
        based_on: str | None,
        note: str,
        actor: str,
    ) -> None:
        """Keep a candidate rule set (the same files twice are one candidate)."""
        await conn.execute(
            "INSERT INTO rule_candidates (candidate_id, files, based_on, note, uploaded_by)"
            " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (candidate_id) DO NOTHING",
            candidate_id,
            files,
            based_on,
            note,
            actor,
        )

    async def get_candidate(self, candidate_id: str) -> dict[str, Any] | None:
        """A candidate with its files."""
        row = await self.db.pool.fetchrow(
            "SELECT * FROM rule_candidates WHERE candidate_id = $1", candidate_id
        )
        if row is None:
            return None
        return {
            **dict(row),
            "files": dict(row["files"]),
            "created_at": row["created_at"].isoformat(),
        }

    async def list_candidates(self, limit: int = 50) -> list[dict[str, Any]]:
        """Candidates newest first, without their files."""
        rows = await self.db.pool.fetch(
            "SELECT candidate_id, based_on, note, uploaded_by, created_at,"
            " (SELECT count(*) FROM jsonb_object_keys(files)) AS files"
            " FROM rule_candidates ORDER BY created_at DESC LIMIT $1",
            limit,
        )
        return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]

    # ---- the leaders' statistics (GET /stats/plans): counted here, in SQL ------------------

    async def plan_counts(self, *, year: int, department: str | None) -> dict[str, int]:
        """A year's plans: approved, rejected, joint; strata of the approved and joint ones."""
        row = await self.db.pool.fetchrow(
            "SELECT count(*) FILTER (WHERE status = 'approved') AS plans,"
            " count(*) FILTER (WHERE status = 'rejected') AS rejected,"
            " count(*) FILTER (WHERE status = 'approved' AND (approved->>'joint')::boolean)"
            " AS joint_plans,"
            " coalesce(sum(jsonb_array_length(approved->'strata'))"
            " FILTER (WHERE status = 'approved'), 0) AS strata,"
            " coalesce(sum((SELECT count(*) FROM jsonb_array_elements(approved->'strata') s"
            " WHERE s->>'joint_group' IS NOT NULL)) FILTER (WHERE status = 'approved'), 0)"
            " AS joint_strata"
            f" FROM plans WHERE {_YEAR_DEPT}",
            year,
            department,
        )
        assert row is not None  # an aggregate answers one row
        return {k: int(v) for k, v in dict(row).items()}

    async def planned_ratios(self, *, year: int, department: str | None) -> list[dict[str, Any]]:
        """Per risk class over the approved plans' strata: strata, estimated n and k."""
        rows = await self.db.pool.fetch(
            "SELECT coalesce(s->>'risk_class', '') AS risk_class, count(*) AS strata,"
            " coalesce(sum((s->>'n_estimate')::int), 0) AS n,"
            " coalesce(sum((s->>'k_estimate')::int), 0) AS k"
            " FROM plans CROSS JOIN LATERAL jsonb_array_elements(approved->'strata') s"
            f" WHERE status = 'approved' AND {_YEAR_DEPT} GROUP BY 1 ORDER BY 1",
            year,
            department,
        )
        return [dict(r) for r in rows]

    async def planned_items(self, *, year: int, department: str | None) -> set[str]:
        """The item codes some approved plan of the year checks."""
        rows = await self.db.pool.fetch(
            "SELECT DISTINCT i->>'code' AS code"
            " FROM plans CROSS JOIN LATERAL jsonb_array_elements(approved->'items') i"
            f" WHERE status = 'approved' AND {_YEAR_DEPT}",
            year,
            department,
        )
        return {r["code"] for r in rows}

    async def late_plans(self, *, year: int, department: str | None) -> list[dict[str, Any]]:
        """Approved plans with a filing flag (not filed, filed late, entered late)."""
        rows = await self.db.pool.fetch(
            "SELECT plan_id, submission->>'title' AS title, departments, flags,"
            " coalesce(filed_on, (submission->>'filed_on')::date) AS filed_on,"
            " coalesce(entered_on, (submission->>'entered_on')::date) AS entered_on"
            " FROM plans WHERE status = 'approved'"
            " AND flags && ARRAY['not_filed', 'filed_late', 'entered_late']"
            f" AND {_YEAR_DEPT} ORDER BY plan_id",
            year,
            department,
        )
        return [dict(r) for r in rows]

    # ---- joint plan drafts (联合抽查, #13) -------------------------------------------------

    async def add_joint_draft(
        self,
        conn: Any,
        *,
        plan_id: str,
        year: int,
        lead: str,
        departments: list[str],
        header: dict[str, Any],
        items: list[dict[str, Any]],
        actor: str,
    ) -> datetime:
        """A new open draft with the lead's items; `Conflict` when its id is taken. Returns
        when it was started (`created_at`)."""
        try:
            created_at: datetime = await conn.fetchval(
                "INSERT INTO joint_drafts (plan_id, year, lead_department, departments, header,"
                " started_by) VALUES ($1, $2, $3, $4, $5, $6) RETURNING created_at",
                plan_id,
                year,
                lead,
                departments,
                header,
                actor,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict(f"joint plan {plan_id} already exists") from None
        await self.set_joint_items(conn, plan_id=plan_id, department=lead, items=items, actor=actor)
        return created_at

    async def set_joint_items(
        self, conn: Any, *, plan_id: str, department: str, items: list[dict[str, Any]], actor: str
    ) -> datetime:
        """A department's items of a draft (joining again replaces them); returns `joined_at`."""
        joined_at: datetime = await conn.fetchval(
            "INSERT INTO joint_draft_items (plan_id, department, items, joined_by)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (plan_id, department) DO UPDATE"
            " SET items = excluded.items, joined_by = excluded.joined_by, joined_at = now()"
            " RETURNING joined_at",
            plan_id,
            department,
            items,
            actor,
        )
        return joined_at

    async def joined_departments(self, conn: Any, plan_id: str) -> list[str]:
        """The departments of a draft that have joined (the lead's is among them)."""
        rows = await conn.fetch(
            "SELECT department FROM joint_draft_items WHERE plan_id = $1", plan_id
        )
        return [r["department"] for r in rows]

    async def lock_joint_draft(self, conn: Any, plan_id: str) -> JointDraftRow | None:
        """A draft, its row locked until the transaction ends (joins and submissions queue)."""
        row = await conn.fetchrow(
            f"SELECT {_DRAFT_COLUMNS} FROM joint_drafts WHERE plan_id = $1 FOR UPDATE", plan_id
        )
        return None if row is None else JointDraftRow(**dict(row))

    async def set_joint_state(
        self,
        conn: Any,
        *,
        plan_id: str,
        state: str,
        plan_status: str | None = None,
        actor: str | None = None,
    ) -> None:
        """Move a draft to `submitting`, back to `open`, or to `submitted` with its plan status."""
        await conn.execute(
            "UPDATE joint_drafts SET state = $2, plan_status = $3, submitted_by = $4,"
            " submitted_at = CASE WHEN $2 = 'submitted' THEN now() END WHERE plan_id = $1",
            plan_id,
            state,
            plan_status,
            actor,
        )

    async def joint_drafts(
        self, *, plan_id: str | None = None, department: str | None, year: int | None, limit: int
    ) -> list[tuple[JointDraftRow, list[JointItemsRow]]]:
        """Drafts newest first (one, or those `department` leads or is invited to), each with
        the items of the departments that joined."""
        rows = await self.db.pool.fetch(
            f"SELECT {_DRAFT_COLUMNS} FROM joint_drafts"
            " WHERE ($1::text IS NULL OR plan_id = $1)"
            " AND ($2::text IS NULL OR $2 = ANY(departments))"
            " AND ($3::int IS NULL OR year = $3)"
            " ORDER BY created_at DESC, plan_id LIMIT $4",
            plan_id,
            department,
            year,
            limit,
        )
        drafts = [JointDraftRow(**dict(r)) for r in rows]
        items = await self.db.pool.fetch(
            "SELECT plan_id, department, items, joined_by, joined_at FROM joint_draft_items"
            " WHERE plan_id = ANY($1::text[])",
            [d.plan_id for d in drafts],
        )
        by_plan: dict[str, list[JointItemsRow]] = {}
        for r in items:
            by_plan.setdefault(r["plan_id"], []).append(JointItemsRow(**dict(r)))
        return [(d, by_plan.get(d.plan_id, [])) for d in drafts]


@dataclass(frozen=True)
class JointDraftRow:
    """A row of `joint_drafts`."""

    plan_id: str
    year: int
    lead_department: str
    departments: list[str]
    header: dict[str, Any]
    state: str
    plan_status: str | None
    started_by: str
    created_at: datetime
    submitted_by: str | None
    submitted_at: datetime | None


@dataclass(frozen=True)
class JointItemsRow:
    """A row of `joint_draft_items`: one department's items of a draft."""

    plan_id: str
    department: str
    items: list[dict[str, Any]]
    joined_by: str
    joined_at: datetime


_DRAFT_COLUMNS = (
    "plan_id, year, lead_department, departments, header, state, plan_status, started_by,"
    " created_at, submitted_by, submitted_at"
)

# $1 the year, $2 a department or null.
_YEAR_DEPT = "year = $1 AND ($2::text IS NULL OR $2 = ANY(departments))"
