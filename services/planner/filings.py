"""The 监督平台's acknowledgements of plan filings (issue 19): the platform's receipt of an
approved plan sets the plan's entered (or filed) date and its late flags are computed again
(domain/filing.py). Over HTTP (`POST /plans/{id}/filing`) or from a platform adapter over NATS
(`planner.rpc.filing`); the same receipt twice records once.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from contracts.planner import PlanFiling, PlanFilingAck
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.errors import Conflict, NotFound
from services.planner.catalogue_store import CatalogueStore
from services.planner.domain.filing import acknowledged_flags, check_ack

CHINA = ZoneInfo("Asia/Shanghai")


def china_today() -> date:
    """Today's date in China (the dates of the notice and of the platforms)."""
    return datetime.now(UTC).astimezone(CHINA).date()


def _date(value: str | None) -> date | None:
    return None if not value else date.fromisoformat(value)


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
