"""HTTP API of the follow-up after a finding (后续处置): thin, parse, authorise, call one command
or query. The receiving body of a referral (role `agency`) records its acknowledgement and
outcome; the task's team or department staff record the re-check of an order to correct."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter

from contracts.common import Role
from contracts.publisher import (
    RectificationCheck,
    RectificationChecked,
    RectificationEntry,
    ReferralAcknowledgement,
    ReferralConclusion,
    ReferralState,
)
from services.kit.auth import Principal, require
from services.publisher.commands.follow_up import FollowUps
from services.publisher.domain.task_list import Reader
from services.publisher.queries import PublisherQueries

# The body a referral went to (case handling, a judicial organ), recording what it did.
ReceivingAgency = Annotated[Principal, require(Role.AGENCY)]
# Who re-checks an order to correct: the task's team, or staff of one of its departments.
Rechecker = Annotated[Principal, require(Role.INSPECTOR, Role.PLANNER)]
FollowUpReader = Annotated[Principal, require(Role.PLANNER, Role.AUDITOR, Role.OPERATOR)]


def _reader(p: Principal) -> Reader:
    return Reader(role=p.role, sub=p.sub, dept=p.dept)


def router(*, follow_ups: FollowUps, queries: PublisherQueries) -> APIRouter:
    """Referrals' answers, re-checks, and the orders to correct."""
    r = APIRouter(tags=["publisher"])

    @r.post("/referrals/{referral_id}/acknowledgement")
    async def acknowledge_referral(
        referral_id: str, body: ReferralAcknowledgement, p: ReceivingAgency
    ) -> ReferralState:
        """The receiving body took the case (已受理) under its case number. `referral_id` is
        `referral.created`'s (`<result_id>:v<version>`). The same acknowledgement again
        answers the record; another one is refused (409)."""
        return await follow_ups.acknowledge(referral_id, body, by=p.sub)

    @r.post("/referrals/{referral_id}/outcome")
    async def conclude_referral(
        referral_id: str, body: ReferralConclusion, p: ReceivingAgency
    ) -> ReferralState:
        """The case ended (办结): its outcome, the day decided, the penalty if any. The same
        outcome again answers the record; another one is refused (409)."""
        return await follow_ups.conclude(referral_id, body, receiver=None, by=p.sub)

    @r.post("/results/{result_id}/rectification")
    async def check_rectification(
        result_id: str, body: RectificationCheck, p: Rechecker
    ) -> RectificationChecked:
        """The re-check of the order to correct of the result's latest version (责令整改 复查):
        by an inspector of the task's team or staff of one of its departments; once (the same
        again answers the record, another 409)."""
        return await follow_ups.check_rectification(result_id, body, by=_reader(p))

    @r.get("/rectifications")
    async def rectifications(
        p: FollowUpReader,
        overdue: bool = False,
        limit: int | None = None,
        offset: int | None = None,
    ) -> list[RectificationEntry]:
        """Orders to correct by deadline, with their re-checks; `overdue=true`: the deadline
        passed and no re-check is recorded. A planner sees their department's; `limit`
        1..500 (100), `offset`."""
        return await queries.rectifications(_reader(p), overdue=overdue, limit=limit, offset=offset)

    return r
