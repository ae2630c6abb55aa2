"""Use cases of the platforms' inbound side in the planner (issue 19).

- A catalogue export from 互联网+监管 (a pushed file, or the configured URL polled) becomes a
  rule candidate: the active rule files with the item files edited to match the export, kept
  as any candidate is, so policy staff check, test, simulate and activate it as they do every
  rule change. Nothing becomes active here. A refused export records nothing.
- The 监督平台's acknowledgement of a plan's filing sets the plan's dates and flags.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from contracts.planner import PlanFiling, PlanFilingAck
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Conflict, NotFound
from services.planner.active import ActiveRules
from services.planner.catalogue_store import CatalogueStore
from services.planner.domain.catalogue_diff import diff_catalogue
from services.planner.domain.export import Format, detect_format, read_export
from services.planner.domain.export_mapping import DEFAULT_MAPPING, ExportMapping
from services.planner.domain.filing import acknowledged_flags, check_ack
from services.planner.domain.ruleset import candidate_id_of
from services.planner.store import PlannerStore

log = logging.getLogger("spotcheck.planner.catalogue")
CHINA = ZoneInfo("Asia/Shanghai")
UPLOAD = "upload"
"""The `source` of a pushed file (CLI, HTTP, console); a polled export's is its URL."""


def china_today() -> date:
    """Today's date in China (the dates of the notice and of the platforms)."""
    return datetime.now(UTC).astimezone(CHINA).date()


class CatalogueImports:
    """Catalogue exports in, as proposed rule changes."""

    def __init__(
        self,
        *,
        db: Database,
        audit: AuditTrail,
        store: PlannerStore,
        catalogue: CatalogueStore,
        rules: ActiveRules,
        mapping: ExportMapping = DEFAULT_MAPPING,
    ) -> None:
        self.db = db
        self.audit = audit
        self.store = store
        self.catalogue = catalogue
        self.rules = rules
        self.mapping = mapping

    async def import_export(
        self,
        data: bytes,
        *,
        name: str,
        source: str,
        actor: str,
        fmt: Format | None = None,
    ) -> dict[str, Any]:
        """Read, diff and record an export; the import record (with `repeated` true when the
        same export was already imported from `source` against the same active rules: nothing
        new is recorded then). `ExportInvalid` with every bad row: nothing recorded."""
        ruleset, _ = await self.rules.current()
        active = await self.store.version_files(ruleset.version) or {}
        departments = {d.code: d.name for d in ruleset.meta.departments}
        fmt = fmt or detect_format(name, data)
        items, encoding = read_export(
            data, name=name, departments=departments, mapping=self.mapping, fmt=fmt
        )
        sha = hashlib.sha256(data).hexdigest()
        diff = diff_catalogue(active, items, source=name, today=china_today())
        files = {**active, **diff.files}
        candidate_id = None if diff.empty else candidate_id_of(_bytes(files))
        summary = diff.as_dict()
        async with self.db.transaction() as conn:
            await self.catalogue.lock_imports(conn)
            last = await self.catalogue.last_import(conn, source)
            if last is not None and last["sha256"] == sha and last["based_on"] == ruleset.version:
                return {**_public(last), "repeated": True}
            if candidate_id is not None:
                await self.store.save_candidate(
                    conn,
                    candidate_id=candidate_id,
                    files=files,
                    based_on=ruleset.version,
                    note=_note(name, summary)[:200],
                    actor=actor,
                )
            import_id = await self.catalogue.add_import(
                conn,
                source=source,
                file_name=name,
                sha256=sha,
                fmt=fmt,
                encoding=encoding,
                rows=len(items),
                based_on=ruleset.version,
                candidate_id=candidate_id,
                diff=summary,
                actor=actor,
            )
            await self.audit.append(
                conn,
                actor=actor,
                action="rules.catalogue_import",
                subject=str(import_id),
                data={
                    "source": source,
                    "file": name,
                    "sha256": sha,
                    "rows": len(items),
                    "added": len(diff.added),
                    "changed": len(diff.changed),
                    "withdrawn": len(diff.withdrawn),
                    "candidate_id": candidate_id,
                },
            )
        log.info(
            "catalogue import %s from %s: %d added, %d changed, %d withdrawn",
            import_id,
            source,
            len(diff.added),
            len(diff.changed),
            len(diff.withdrawn),
        )
        found = await self.catalogue.get_import(import_id)
        assert found is not None
        return {**_public(found), "repeated": False}

    async def show(self, import_id: int) -> dict[str, Any]:
        """One import with its diff."""
        found = await self.catalogue.get_import(import_id)
        if found is None:
            raise NotFound(f"no catalogue import {import_id}")
        return _public(found)

    async def list(self, limit: int = 50) -> list[dict[str, Any]]:
        """Imports newest first."""
        return await self.catalogue.list_imports(min(max(limit, 1), 500))


def _public(row: dict[str, Any]) -> dict[str, Any]:
    diff = row["diff"]
    return {
        "import_id": row["import_id"],
        "source": row["source"],
        "file_name": row["file_name"],
        "sha256": row["sha256"],
        "format": row["format"],
        "encoding": row["encoding"],
        "rows": row["rows"],
        "based_on": row["based_on"],
        "candidate_id": row["candidate_id"],
        "imported_by": row["imported_by"],
        "created_at": row["created_at"],
        "diff": diff,
    }


def _date(value: str | None) -> date | None:
    return None if not value else date.fromisoformat(value)


def _note(name: str, summary: dict[str, Any]) -> str:
    return (
        f"互联网+监管事项清单导入 {name}：新增 {len(summary['added'])}、"
        f"变更 {len(summary['changed'])}、撤销 {len(summary['withdrawn'])}"
    )


def _bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {p: t.encode("utf-8") for p, t in files.items()}


class PlanFilings:
    """The 监督平台's acknowledgements of plan filings."""

    def __init__(self, *, db: Database, audit: AuditTrail, catalogue: CatalogueStore) -> None:
        self.db = db
        self.audit = audit
        self.catalogue = catalogue

    async def acknowledge(self, plan_id: str, ack: PlanFilingAck, *, actor: str) -> PlanFiling:
        """Record the platform's acknowledgement of an approved plan; its date becomes the
        plan's `entered_on` (or `filed_on`) and the flags are recomputed. The same ack again
        changes nothing; the same ack id with another plan, kind or date is a `Conflict`."""
        async with self.db.transaction() as conn:
            plan = await self.catalogue.plan_for_update(conn, plan_id)
            if plan is None:
                raise NotFound(f"no plan {plan_id}")
            if plan["status"] != "approved":
                raise Conflict(
                    f"plan {plan_id} was rejected: only an approved plan is filed"
                    f" / 计划 {plan_id} 未获批准，不能登记报送回执",
                    code="plan_not_approved",
                )
            approved_on = plan["created_at"].astimezone(CHINA).date()
            check_ack(
                acknowledged_on=ack.acknowledged_on, approved_on=approved_on, today=china_today()
            )
            before = await self.catalogue.filing(conn, ack.platform, ack.ack_id)
            submission = plan["submission"]
            typed = (_date(submission.get("filed_on")), _date(submission.get("entered_on")))
            if before is not None:
                same = (before["plan_id"], before["kind"], before["acknowledged_on"]) == (
                    plan_id,
                    ack.kind,
                    ack.acknowledged_on,
                )
                if not same:
                    raise Conflict(
                        f"acknowledgement {ack.platform}/{ack.ack_id} was recorded for"
                        f" {before['plan_id']} ({before['kind']} {before['acknowledged_on']})",
                        code="ack_conflict",
                    )
                # The same answer as the first time: the dates that hold, as computed then.
                held_filed, held_entered, _ = acknowledged_flags(
                    year=submission["year"],
                    submitted=typed,
                    submitted_on=approved_on,
                    acknowledged=(plan["filed_on"], plan["entered_on"]),
                )
                return PlanFiling(
                    plan_id=plan_id,
                    filed_on=held_filed,
                    entered_on=held_entered,
                    flags=list(plan["flags"]),
                    acks=await self.catalogue.filings_of(conn, plan_id),
                    repeated=True,
                )
            entered = ack.acknowledged_on if ack.kind == "entered" else plan["entered_on"]
            filed = ack.acknowledged_on if ack.kind == "filed" else plan["filed_on"]
            filed_on, entered_on, flags = acknowledged_flags(
                year=submission["year"],
                submitted=typed,
                submitted_on=approved_on,
                acknowledged=(filed, entered),
            )
            await self.catalogue.add_filing(
                conn,
                plan_id=plan_id,
                platform=ack.platform,
                ack_id=ack.ack_id,
                kind=ack.kind,
                acknowledged_on=ack.acknowledged_on,
                actor=actor,
            )
            await self.catalogue.set_filing(
                conn, plan_id, filed_on=filed, entered_on=entered, flags=flags
            )
            await self.audit.append(
                conn,
                actor=actor,
                action="plan.filing_ack",
                subject=plan_id,
                data={
                    "platform": ack.platform,
                    "ack_id": ack.ack_id,
                    "kind": ack.kind,
                    "acknowledged_on": ack.acknowledged_on.isoformat(),
                    "flags_before": list(plan["flags"]),
                    "flags": flags,
                },
            )
            acks = await self.catalogue.filings_of(conn, plan_id)
        return PlanFiling(
            plan_id=plan_id, filed_on=filed_on, entered_on=entered_on, flags=flags, acks=acks
        )
