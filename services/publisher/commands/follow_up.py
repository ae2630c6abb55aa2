"""Follow-up after a finding (后续处置): the receiving body's acknowledgement and outcome of a
referral (over HTTP, or from its system on NATS), and the re-check of an order to correct.

Each change is one transaction: the record, its audit entry and its event
(`referral.acknowledged`, `referral.concluded`, `rectification.checked`) through the outbox.
A repeat of a recorded fact changes nothing and answers the record again."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from contracts import subjects
from contracts.publisher import (
    RectificationCheck,
    RectificationChecked,
    ReferralAcknowledgement,
    ReferralConclusion,
    ReferralState,
)
from services.kit.audit import AuditTrail
from services.kit.db import Database
from services.kit.envelope import event_id
from services.kit.errors import Conflict, NotFound
from services.kit.outbox import Outbox
from services.publisher import store
from services.publisher.domain import follow_up
from services.publisher.domain.follow_up import ReferralRecord
from services.publisher.domain.result_parts import reason
from services.publisher.domain.task_list import Reader, check_may_read


class FollowUps:
    """Records what follows a finding."""

    def __init__(self, *, db: Database, audit: AuditTrail, outbox: Outbox) -> None:
        self.db = db
        self.audit = audit
        self.outbox = outbox

    async def acknowledge(
        self, referral_id: str, ack: ReferralAcknowledgement, *, by: str
    ) -> ReferralState:
        """The receiving body took the case (已受理): `by` is its user, or `nats:<event id>`."""

        def change(current: ReferralRecord) -> ReferralRecord | None:
            return follow_up.acknowledge(current, ack, by=by)

        return await self._change(referral_id, change, by=by, name="referral.acknowledged")

    async def conclude(
        self, referral_id: str, end: ReferralConclusion, *, receiver: str | None, by: str
    ) -> ReferralState:
        """The case ended (办结); `receiver` names who decided when no acknowledgement did."""

        def change(current: ReferralRecord) -> ReferralRecord | None:
            return follow_up.conclude(current, end, receiver=receiver, by=by)

        return await self._change(referral_id, change, by=by, name="referral.concluded")

    async def _change(
        self,
        referral_id: str,
        change: Callable[[ReferralRecord], ReferralRecord | None],
        *,
        by: str,
        name: str,
    ) -> ReferralState:
        result_id, version = follow_up.parse_referral_id(referral_id)
        async with self.db.transaction() as conn:
            target = await store.referral_target(conn, result_id, version)
            if target is None:
                raise NotFound(f"no referral {referral_id}", code="referral_unknown")
            current = await store.get_referral(conn, referral_id) or ReferralRecord(
                referral_id=referral_id, result_id=result_id, version=version
            )
            changed = change(current)
            record = current if changed is None else changed
            state = _state(record, target)
            if changed is None:
                return state  # a repeat: recorded already
            await store.save_referral(conn, changed)
            await self.audit.append(
                conn,
                actor=by,
                action=name,
                subject=referral_id,
                data=state.model_dump(mode="json", exclude_none=True),
            )
            await self.outbox.add(
                conn,
                subjects.event("publisher", name),
                state,
                event_id=event_id(name, referral_id),
            )
        return state

    async def check_rectification(
        self, result_id: str, check: RectificationCheck, *, by: Reader, now: datetime | None = None
    ) -> RectificationChecked:
        """Record the re-check of the order to correct of a result's latest version (复查): by an
        inspector of the task's team or staff of one of its departments."""
        now = now or datetime.now(UTC)
        async with self.db.transaction() as conn:
            latest = await store.latest_order(conn, result_id)
            if latest is None:
                raise NotFound(f"no result {result_id}", code="result_unknown")
            order = latest.order
            check_may_read(
                by, task_id=order.task_id, team=latest.team, departments=latest.departments
            )
            recorded = await store.get_rectification_check(conn, result_id)
            if recorded is not None:
                if _same(recorded, check):
                    return recorded
                raise Conflict(
                    f"the re-check of result {result_id} is recorded already "
                    f"({recorded.checked_on}, by {recorded.checked_by})",
                    code="rectification_already_checked",
                    details=[
                        reason(
                            ["result_id"],
                            "a different re-check is recorded",
                            "rectification_already_checked",
                            "该责令整改已登记复查结果",
                        )
                    ],
                )
            follow_up.refuse(
                follow_up.check_rectification(order, check, today=now.date()),
                f"re-check of result {result_id}",
            )
            assert order.rectify_by is not None  # check_rectification refused it otherwise
            event = RectificationChecked(
                **check.model_dump(),
                result_id=result_id,
                version=order.version,
                task_id=order.task_id,
                uscc=latest.uscc,
                rectify_by=order.rectify_by,
                checked_by=by.sub,
                recorded_at=now,
            )
            await store.insert_rectification_check(conn, event)
            await self.audit.append(
                conn,
                actor=by.sub,
                action="rectification.checked",
                subject=f"{result_id}:v{order.version}",
                data=event.model_dump(mode="json", exclude_none=True),
            )
            await self.outbox.add(
                conn,
                subjects.event("publisher", "rectification.checked"),
                event,
                event_id=event_id("rectification.checked", result_id),
            )
        return event


def _same(recorded: RectificationChecked, check: RectificationCheck) -> bool:
    return (
        RectificationCheck.model_validate(
            recorded.model_dump(include=set(RectificationCheck.model_fields))
        )
        == check
    )


def _state(r: ReferralRecord, target: store.ReferralTarget) -> ReferralState:
    return ReferralState(
        referral_id=r.referral_id,
        result_id=r.result_id,
        version=r.version,
        task_id=target.task_id,
        to="judicial" if target.to == "judicial" else "case_handling",
        status=r.status,
        receiver=r.receiver,
        case_number=r.case_number,
        received_at=r.received_at,
        outcome=r.outcome,
        decided_at=r.decided_at,
        penalty=r.penalty,
        updated_by=r.concluded_by or r.acknowledged_by,
    )
