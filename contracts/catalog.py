"""Which model travels on which subject: the source of the AsyncAPI document."""

from __future__ import annotations

from pydantic import BaseModel

from contracts import common, draw, planner, publisher, registry
from contracts import subjects as s

# (service, event name) -> payload model. Every name in subjects.EVENTS must appear here.
EVENT_MODELS: dict[tuple[str, str], type[BaseModel]] = {
    ("registry", "entity.upsert"): registry.EntityRecord,
    ("registry", "entity.changed"): registry.EntityRecord,
    ("registry", "import.completed"): registry.ImportCompleted,
    ("registry", "snapshot.frozen"): registry.FreezeReply,
    ("planner", "rules.activated"): planner.RulesActivated,
    ("planner", "plan.approved"): planner.PlanApproved,
    ("planner", "plan.rejected"): planner.PlanRejected,
    ("draw", "committed"): draw.DrawCommitted,
    ("draw", "seeded"): draw.DrawSeeded,
    ("draw", "completed"): draw.DrawCompleted,
    ("draw", "superseded"): draw.DrawSuperseded,
    ("draw", "task.assigned"): draw.TaskAssigned,
    ("publisher", "task.started"): publisher.TaskStarted,
    ("publisher", "result.accepted"): publisher.ResultAccepted,
    ("publisher", "result.published"): publisher.ResultPublished,
    ("publisher", "credit.feedback"): publisher.CreditFeedback,
    ("publisher", "referral.created"): publisher.ReferralCreated,
    ("publisher", "licensing.feedback"): publisher.LicensingFeedback,
    ("publisher", "deadline.changed"): publisher.DeadlinesChanged,
}

# Subjects of other systems that spotcheck consumes.
EXTERNAL_MODELS: dict[str, type[BaseModel]] = {
    s.CREDIT_RISK_CLASS_UPDATED: registry.RiskClassUpdated,
    s.CREDIT_RISK_CLASS_FULL: registry.RiskClassFullPush,
}

# (service, verb) -> (request model, reply model).
RPC_MODELS: dict[tuple[str, str], tuple[type[BaseModel], type[BaseModel]]] = {
    **{(svc, "ping"): (common.PingRequest, common.PingReply) for svc in s.SERVICES},
    ("registry", "stats"): (registry.StatsRequest, registry.StatsReply),
    ("registry", "freeze"): (registry.FreezeRequest, registry.FreezeReply),
    ("registry", "entities"): (registry.EntitiesRequest, registry.EntitiesReply),
    ("registry", "inspectors"): (registry.InspectorsRequest, registry.InspectorsReply),
}
