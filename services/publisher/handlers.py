"""NATS subscriptions of the publisher service (thin: parse, call one command, ack after commit)."""

from __future__ import annotations

from contracts import subjects
from contracts.draw import DrawCompleted, DrawSuperseded, TaskAssigned
from contracts.planner import PlanApproved, RulesActivated
from contracts.publisher import ReferralAcknowledged, ReferralConcluded
from contracts.registry import DirectorySummary
from services.kit.bus import Incoming
from services.kit.service import ServiceContext
from services.publisher.commands.calendars import Calendars
from services.publisher.commands.copies import Copies
from services.publisher.commands.follow_up import FollowUps


async def register(
    ctx: ServiceContext, *, copies: Copies, calendars: Calendars, follow_ups: FollowUps
) -> None:
    """Keep our own copies of tasks, draws, approved plans and the holiday calendar of the
    active rule set, and record what the receiving bodies of referrals say (ping is answered
    by the kit)."""
    completed = subjects.event("draw", "completed")

    async def on_task(msg: Incoming) -> None:
        await copies.take_task(msg.parse(TaskAssigned))

    async def on_plan(msg: Incoming) -> None:
        await copies.take_plan(msg.parse(PlanApproved))

    ctx.bus.consume(
        stream=subjects.stream_name("draw"),
        durable="publisher-task-assigned",
        subjects=[subjects.event("draw", "task.assigned")],
        handler=on_task,
        batch=200,
    )

    async def on_draw(msg: Incoming) -> None:
        draw: DrawCompleted | DrawSuperseded = (
            msg.parse(DrawCompleted) if msg.subject == completed else msg.parse(DrawSuperseded)
        )
        await copies.take_draw(draw)

    ctx.bus.consume(
        stream=subjects.stream_name("draw"),
        durable="publisher-draws",
        subjects=[completed, subjects.event("draw", "superseded")],
        handler=on_draw,
    )
    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="publisher-plan-approved",
        subjects=[subjects.event("planner", "plan.approved")],
        handler=on_plan,
    )

    async def on_summary(msg: Incoming) -> None:
        await copies.take_summary(msg.parse(DirectorySummary))

    ctx.bus.consume(
        stream=subjects.stream_name("registry"),
        durable="publisher-directory-summary",
        subjects=[subjects.event("registry", "directory.summary")],
        handler=on_summary,
    )

    async def on_rules(msg: Incoming) -> None:
        # The calendar, the deadlines it changes and their event commit together (acked after).
        await calendars.activate(msg.parse(RulesActivated), cause=msg.event_id)

    ctx.bus.consume(
        stream=subjects.stream_name("planner"),
        durable="publisher-rules-activated",
        subjects=[subjects.event("planner", "rules.activated")],
        handler=on_rules,
    )

    async def on_acknowledged(msg: Incoming) -> None:
        # An unknown referral or a different acknowledgement over a recorded one is a domain
        # error: the message is terminated (logged), never retried.
        ack = msg.parse(ReferralAcknowledged)
        await follow_ups.acknowledge(ack.referral_id, ack, by=f"nats:{msg.event_id}")

    async def on_concluded(msg: Incoming) -> None:
        end = msg.parse(ReferralConcluded)
        await follow_ups.conclude(
            end.referral_id, end, receiver=end.receiver, by=f"nats:{msg.event_id}"
        )

    ctx.bus.consume(
        stream=subjects.CASES_STREAM,
        durable="publisher-referral-acknowledged",
        subjects=[subjects.CASES_REFERRAL_ACKNOWLEDGED],
        handler=on_acknowledged,
    )
    ctx.bus.consume(
        stream=subjects.CASES_STREAM,
        durable="publisher-referral-concluded",
        subjects=[subjects.CASES_REFERRAL_CONCLUDED],
        handler=on_concluded,
    )
