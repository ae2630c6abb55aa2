"""Resolution: a checked plan + a rule engine → strata with k, methods and explanations.

Strata are plan item × risk class × region; their ids are `{year}.{item}.{class}.{region}`
(ASCII, DESIGN §6). Strata whose rules put them in the same joint group (`merge`), with the
same target scope (risk class, region, entity types, industries, tags — each as the plan's
scope narrowed by the item's `applies_to`) and overlapping periods, become one joint stratum
`{year}.{group}.{class}.{region}` led by the group's lead department, when they come from at
least two departments (部门联合抽查, 综合一次查).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from contracts.planner import (
    ExcludedStratum,
    FrequencyExclusion,
    Period,
    PlanApproved,
    PlanItem,
    PlanSubmission,
    ResolvedStratum,
)
from contracts.registry import ACTIVE_STATUSES, EntityFilter
from contracts.rules import Item
from services.planner.domain.engine import Outcome, StratumFact
from services.planner.domain.plan import narrow, types_of
from services.planner.domain.ruleset import RuleSet


@dataclass(frozen=True)
class Planned:
    """A stratum before the rules: which item, class, region, scope and period."""

    fact: StratumFact
    item: Item
    entity_types: tuple[str, ...]
    industries: tuple[str, ...]
    tags: tuple[str, ...]
    period: Period
    filter: EntityFilter


@dataclass
class Resolution:
    """The resolved strata of a plan, the excluded ones, and the joint statistics."""

    strata: list[ResolvedStratum] = field(default_factory=list)
    excluded: list[ExcludedStratum] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    mergeable: int = 0
    merged: int = 0
    joint_strata: int = 0

    @property
    def joint_share_bp(self) -> int | None:
        """能联尽联: merged / mergeable strata, in basis points (None when none could merge)."""
        return None if not self.mergeable else self.merged * 10000 // self.mergeable


def plan_item(i: Item) -> PlanItem:
    """A catalogue item as plans and tasks carry it (with the legal basis findings name)."""
    return PlanItem(
        code=i.code,
        name=i.name,
        department=i.department,
        kind=i.kind.value,
        methods=[m.value for m in i.methods],
        expertise=list(i.expertise),
        legal_basis=i.legal_basis,
    )


def key_supervision_filter(item: Item) -> tuple[bool, list[str]]:
    """Which key-supervision labels take an entity out of `item`'s base: (any label, these).

    Only the item's own list: an entity under key supervision for food stays in the base of
    every item that does not name a food label (the notice: 对清单内的事项实行重点监管，对清单外
    的事项全面实行"双随机、一公开"监管). An item marked with the old `key_supervision: true`
    named no labels, so every label counts for it.
    """
    if item.key_supervision is True:
        return True, []
    return False, sorted(set(item.key_supervision))


def plan_strata(
    plan: PlanSubmission, ruleset: RuleSet, counts: Mapping[str, int] | None
) -> list[Planned]:
    """Every stratum of a (validated) plan, in plan order; n from `counts`.

    `counts` None: n is unknown (0, and caps on counts are left to the draw); a stratum
    missing from given counts has no entities.
    """
    known = counts is not None
    counts = counts or {}
    out = []
    for entry in plan.items:
        item = ruleset.items[entry.item]
        scope = entry.scope or plan.scope
        period = entry.period or plan.period
        industries = narrow(scope.industries, item.applies_to.industries)
        tags = narrow(scope.tags, item.applies_to.tags)
        types = types_of(scope.entity_types, item.applies_to.entity_types)
        any_key, key_labels = key_supervision_filter(item)
        for cls in scope.risk_classes or ruleset.risk_classes:
            for region in scope.regions:
                sid = f"{plan.year}.{item.code}.{cls}.{region}"
                flt = EntityFilter(
                    region_prefixes=[region],
                    industry_prefixes=list(industries),
                    entity_types=list(types),
                    risk_classes=[cls],
                    tags_any=list(tags),
                    statuses=list(ACTIVE_STATUSES),
                    exclude_key_supervision=any_key,
                    exclude_key_supervision_labels=key_labels,
                )
                fact = StratumFact(
                    sid,
                    item,
                    cls,
                    region,
                    counts.get(sid, 0),
                    entry.ratio,
                    entry.count,
                    period.start,
                    known,
                    tags,
                )
                out.append(Planned(fact, item, types, industries, tags, period, flt))
    return out


def sized(planned: Sequence[Planned], counts: Mapping[str, int]) -> list[Planned]:
    """`planned` with n from `counts` (a stratum missing from them has no entities)."""
    return [
        replace(p, fact=replace(p.fact, n=counts.get(p.fact.stratum_id, 0), n_known=True))
        for p in planned
    ]


def _overlap(a: Period, b: Period) -> bool:
    return a.start <= b.end and b.start <= a.end


def _single(p: Planned, o: Outcome, known: bool) -> ResolvedStratum:
    return ResolvedStratum(
        stratum_id=o.stratum_id,
        item_codes=[p.item.code],
        departments=[p.item.department],
        risk_class=p.fact.risk_class,
        region_code=p.fact.region,
        filter=p.filter,
        bp=o.bp,
        count=o.count if o.bp is None else None,
        count_cap_bp=o.count_cap_bp,
        n_estimate=o.n if known else None,
        k_estimate=o.k if known else None,
        methods=[m.value for m in o.methods],
        on_site_required=o.on_site_required,
        explanation=o.explanation,
        batches=o.batches,
        batch_size=o.batch_size,
        frequency_times=o.frequency.times,
        frequency_months=o.frequency.months,
        fired=o.fired_names,
    )


def _joint(
    year: int, group: str, members: list[tuple[Planned, Outcome]], known: bool, lead: str
) -> ResolvedStratum:
    first, _ = members[0]
    depts = sorted({p.item.department for p, _ in members}, key=lambda d: (d != lead, d))
    methods: list[str] = []
    for _, o in members:
        methods += [m.value for m in o.methods if m.value not in methods]
    bps = [o.bp for _, o in members if o.bp is not None]
    counts = [o.count for _, o in members if o.bp is None and o.count is not None]
    # The joint visit takes the largest member's sample, so the loosest cap (none beats any).
    caps = [o.count_cap_bp for _, o in members if o.bp is None]
    cap = None if not caps or None in caps else max(c for c in caps if c is not None)
    n = min(o.n for _, o in members)
    k = max(o.k for _, o in members)
    explanation = [f"[{p.item.code}] {line}" for p, o in members for line in o.explanation]
    explanation.append(
        f"部门联合抽查：{'、'.join(p.item.code for p, _ in members)} 合并为一次检查，"
        f"牵头部门 {lead}，各部门各派检查人员"
    )
    batch_sizes = [o.batch_size for _, o in members if o.batch_size]
    size = min(batch_sizes) if batch_sizes else None
    return ResolvedStratum(
        stratum_id=f"{year}.{group}.{first.fact.risk_class}.{first.fact.region}",
        item_codes=[p.item.code for p, _ in members],
        departments=depts,
        risk_class=first.fact.risk_class,
        region_code=first.fact.region,
        filter=first.filter,  # the members' target scopes are equal (the merge key)
        bp=max(bps) if bps else None,
        count=max(counts) if not bps and counts else None,
        count_cap_bp=cap if not bps and counts else None,
        n_estimate=n if known else None,
        k_estimate=min(k, n) if known else None,
        methods=methods,
        on_site_required=any(o.on_site_required for _, o in members),
        explanation=explanation,
        batches=(k + size - 1) // size if size and k > size else 1,
        batch_size=size,
        frequency_times=min(o.frequency.times for _, o in members),
        frequency_months=max(o.frequency.months for _, o in members),
        fired=[name for _, o in members for name in o.fired_names],
        joint_group=group,
        lead_department=lead,
    )


def resolve(
    plan: PlanSubmission,
    ruleset: RuleSet,
    evaluate: Callable[[StratumFact], Outcome],
    *,
    counts: Mapping[str, int] | None = None,
    planned: Sequence[Planned] | None = None,
) -> Resolution:
    """Evaluate every stratum, merge joint ones, and collect the exclusions.

    `planned`: the plan's strata when already made (`plan_strata`), sized here with `counts`.
    """
    known = counts is not None
    if planned is None:
        planned = plan_strata(plan, ruleset, counts)
    elif counts is not None:
        planned = sized(planned, counts)
    res = Resolution()
    pairs: list[tuple[Planned, Outcome]] = []
    for p in planned:
        outcome = evaluate(p.fact)
        res.outcomes.append(outcome)
        if outcome.excluded is not None:
            res.excluded.append(
                ExcludedStratum(
                    stratum_id=outcome.stratum_id,
                    item_codes=[p.item.code],
                    risk_class=p.fact.risk_class,
                    region_code=p.fact.region,
                    reason=outcome.excluded,
                    explanation=outcome.explanation,
                )
            )
        else:
            pairs.append((p, outcome))
    groups: dict[tuple[object, ...], list[tuple[Planned, Outcome]]] = {}
    for p, o in pairs:
        if o.merge_group is not None:
            res.mergeable += 1
            # The whole target scope is the key: members of one joint stratum share one filter,
            # so no member loses entities to another's narrower scope (or gains any).
            key = (
                o.merge_group,
                p.fact.risk_class,
                p.fact.region,
                p.entity_types,
                p.industries,
                p.tags,
                p.filter.exclude_key_supervision,
                tuple(p.filter.exclude_key_supervision_labels),
            )
            groups.setdefault(key, []).append((p, o))
    merged_ids: set[str] = set()
    joints: list[ResolvedStratum] = []
    for (group, *_), members in groups.items():
        # Keep the members whose period overlaps the first one's (same visit window).
        window = [m for m in members if _overlap(m[0].period, members[0][0].period)]
        if len({p.item.department for p, _ in window}) < 2:
            continue
        lead = window[0][1].merge_lead or window[0][0].item.department
        joints.append(_joint(plan.year, str(group), window, known, lead))
        merged_ids.update(o.stratum_id for _, o in window)
        res.merged += len(window)
    res.joint_strata = len(joints)
    res.strata = [_single(p, o, known) for p, o in pairs if o.stratum_id not in merged_ids]
    res.strata += joints
    res.strata.sort(key=lambda s: s.stratum_id.encode())
    return res


def frequency_exclusions(plan: PlanSubmission, res: Resolution) -> list[FrequencyExclusion]:
    """Each stratum's frequency window, from its own rule outcome: an entity checked for its
    items by its departments `frequency_times` times within `frequency_months` before the
    plan's period start leaves its base.

    Strata with the same items, departments and window share one exclusion that names them
    (a province's hundreds of regions give a handful of windows per item: one per distinct
    class outcome), so the draw looks each window up once and gives it to those strata alone.
    """
    windows: dict[tuple[tuple[str, ...], tuple[str, ...], date, int], list[str]] = {}
    for s in res.strata:
        since = _months_before(plan.period.start, s.frequency_months)
        key = (tuple(s.item_codes), tuple(s.departments), since, s.frequency_times)
        windows.setdefault(key, []).append(s.stratum_id)
    return [
        FrequencyExclusion(
            item_codes=list(items),
            departments=list(departments),
            since=since,
            times=times,
            stratum_ids=ids,
        )
        for (items, departments, since, times), ids in windows.items()
    ]


def _months_before(day: date, months: int) -> date:
    year, month0 = divmod(day.year * 12 + day.month - 1 - months, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))


def approved_event(
    plan: PlanSubmission,
    ruleset: RuleSet,
    res: Resolution,
    *,
    plan_id: str,
    approved_at: datetime,
    flags: list[str],
) -> PlanApproved:
    """`plan.approved`: everything the draw needs, plus the record of what was left out."""
    codes = [e.item for e in plan.items]
    items = [ruleset.items[c] for c in codes]
    return PlanApproved(
        plan_id=plan_id,
        year=plan.year,
        title=plan.title,
        departments=list(plan.departments),
        lead_department=plan.lead_department or plan.departments[0],
        joint=len(plan.departments) > 1 or res.joint_strata > 0,
        rules_version=ruleset.version,
        period_start=plan.period.start,
        period_end=plan.period.end,
        batches=plan.batches,
        items=[plan_item(i) for i in items],
        strata=res.strata,
        frequency_exclusions=frequency_exclusions(plan, res),
        cross_region=len(plan.scope.regions) > 1,
        approved_at=approved_at,
        excluded=res.excluded,
        flags=flags,
        joint_strata=res.joint_strata,
        joint_share_bp=res.joint_share_bp,
    )
