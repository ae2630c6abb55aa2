"""Every event of spotcheck, once: which service sends it, under which name, with which model.

This is the one list. `subjects.EVENTS` (what `subjects.event()` accepts and what each stream
captures) is derived from it, and so is the AsyncAPI document (`catalog`, `generate`). It
imports only the model modules, never `subjects`, so that `subjects` can import it: adding an
event is one line here plus its model.
"""

from __future__ import annotations

from pydantic import BaseModel

from contracts import draw, planner, publisher, registry, triggered

# (service, event name) -> payload model, in each service's order of the stream's subjects.
EVENT_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("registry", "entity.upsert"): registry.EntityRecord,
    ("registry", "entity.changed"): registry.EntityRecord,
    ("registry", "import.completed"): registry.ImportCompleted,
    ("registry", "snapshot.frozen"): registry.FreezeReply,
    ("registry", "directory.summary"): registry.DirectorySummary,
    ("planner", "rules.activated"): planner.RulesActivated,
    ("planner", "plan.approved"): planner.PlanApproved,
    ("planner", "plan.rejected"): planner.PlanRejected,
    ("planner", "joint.started"): planner.JointPlanStarted,
    ("planner", "joint.joined"): planner.JointPlanJoined,
    ("draw", "committed"): draw.DrawCommitted,
    ("draw", "seeded"): draw.DrawSeeded,
    ("draw", "completed"): draw.DrawCompleted,
    ("draw", "superseded"): draw.DrawSuperseded,
    ("draw", "task.assigned"): draw.TaskAssigned,
    ("draw", "task.restaffed"): draw.TaskRestaffed,
    ("draw", "triggered.opened"): triggered.TriggeredOpened,
    ("publisher", "task.started"): publisher.TaskStarted,
    ("publisher", "task.cancelled"): publisher.TaskCancelled,
    ("publisher", "commission.opened"): publisher.Commission,
    ("publisher", "commission.reported"): publisher.Commission,
    ("publisher", "result.accepted"): publisher.ResultAccepted,
    ("publisher", "result.published"): publisher.ResultPublished,
    ("publisher", "credit.feedback"): publisher.CreditFeedback,
    ("publisher", "referral.created"): publisher.ReferralCreated,
    ("publisher", "licensing.feedback"): publisher.LicensingFeedback,
    ("publisher", "deadline.changed"): publisher.DeadlinesChanged,
    ("publisher", "finding.licensing_feedback"): publisher.Finding,
    ("publisher", "finding.joint_punishment"): publisher.Finding,
    ("publisher", "referral.acknowledged"): publisher.ReferralState,
    ("publisher", "referral.concluded"): publisher.ReferralState,
    ("publisher", "rectification.checked"): publisher.RectificationChecked,
}


def event_names(services: tuple[str, ...]) -> dict[str, tuple[str, ...]]:
    """Event names per service, in the order of `EVENT_MODELS` (every service listed)."""
    names: dict[str, tuple[str, ...]] = {svc: () for svc in services}
    for svc, name in EVENT_MODELS:
        if svc not in names:
            raise ValueError(f"event {name!r} names an unknown service {svc!r}")
        names[svc] += (name,)
    return names
