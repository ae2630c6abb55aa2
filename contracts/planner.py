"""Planner contracts: approved and rejected plans, rule-set activation."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field

from contracts.base import Contract
from contracts.registry import STRATUM_ID_PATTERN, EntityFilter


class PlanItem(Contract):
    """An item of the catalogue as a plan uses it."""

    code: str
    name: str
    department: str
    kind: str
    methods: list[str] = []
    expertise: list[str] = []


class ResolvedStratum(Contract):
    """A stratum of an approved plan with its ratio (bp) or count and why."""

    stratum_id: str = Field(pattern=STRATUM_ID_PATTERN)
    item_codes: list[str]
    departments: list[str]
    risk_class: str | None = None
    region_code: str | None = None
    filter: EntityFilter
    bp: int | None = Field(default=None, ge=0, le=10000)
    count: int | None = Field(default=None, ge=0)
    n_estimate: int | None = None
    k_estimate: int | None = None
    methods: list[str] = []
    on_site_required: bool = False
    explanation: list[str] = []


class FrequencyExclusion(Contract):
    """Entities checked for these items by these departments since `since` leave the base."""

    item_codes: list[str]
    departments: list[str]
    since: date


class PlanApproved(Contract):
    """`spotcheck.v1.planner.plan.approved`: all the draw needs."""

    plan_id: str
    year: int
    title: str
    departments: list[str]
    lead_department: str
    joint: bool = False
    rules_version: str
    period_start: date
    period_end: date
    batches: int = Field(default=1, ge=1)
    items: list[PlanItem]
    strata: list[ResolvedStratum]
    frequency_exclusions: list[FrequencyExclusion] = []
    cross_region: bool = False
    approved_at: datetime


class PlanRejected(Contract):
    """`spotcheck.v1.planner.plan.rejected`: every reason at once."""

    plan_id: str
    reasons: list[dict[str, str | int]]
    rejected_at: datetime


class RulesActivated(Contract):
    """`spotcheck.v1.planner.rules.activated`: a new rule set version is active."""

    version: str
    previous_version: str | None = None
    files: list[str]
    activated_at: datetime
    activated_by: str
