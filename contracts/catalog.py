"""Which model travels on which subject: the source of the AsyncAPI document.

Events come from `contracts/events.py` (the one list); this adds the subjects of other systems
that spotcheck consumes and the request/reply verbs.
"""

from __future__ import annotations

from pydantic import BaseModel

from contracts import common, events, planner, publisher, registry
from contracts import subjects as s

# (service, event name) -> payload model: the one list lives in contracts/events.py.
EVENT_MODELS = events.EVENT_MODELS

# Subjects of other systems that spotcheck consumes.
EXTERNAL_MODELS: dict[str, type[BaseModel]] = {
    s.CREDIT_RISK_CLASS_UPDATED: registry.RiskClassUpdated,
    s.CREDIT_RISK_CLASS_FULL: registry.RiskClassFullPush,
    s.CASES_REFERRAL_ACKNOWLEDGED: publisher.ReferralAcknowledged,
    s.CASES_REFERRAL_CONCLUDED: publisher.ReferralConcluded,
}

# (service, verb) -> (request model, reply model).
RPC_MODELS: dict[tuple[str, str], tuple[type[BaseModel], type[BaseModel]]] = {
    **{(svc, "ping"): (common.PingRequest, common.PingReply) for svc in s.SERVICES},
    ("registry", "stats"): (registry.StatsRequest, registry.StatsReply),
    ("registry", "freeze"): (registry.FreezeRequest, registry.FreezeReply),
    ("registry", "entities"): (registry.EntitiesRequest, registry.EntitiesReply),
    ("registry", "inspectors"): (registry.InspectorsRequest, registry.InspectorsReply),
    ("planner", "items"): (planner.ItemsRequest, planner.ItemsReply),
    ("planner", "filing"): (planner.PlanFilingRequest, planner.PlanFiling),
}
