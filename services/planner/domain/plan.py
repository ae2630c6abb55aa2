"""Plans: validation against a rule set (every reason at once) and filing-date flags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from contracts.planner import Period, PlanItemEntry, PlanScope, PlanSubmission
from contracts.rules import Item
from services.kit.errors import Invalid
from services.planner.domain.ruleset import RuleSet

_REGION = re.compile(r"^\d{6}$")
_INDUSTRY = re.compile(r"^[A-Z](\d{1,4})?$")
_WHAT_ZH = {"entity types": "主体类型", "industries": "行业", "tags": "标签"}


@dataclass(frozen=True)
class Reason:
    """One reason a plan is refused; `loc` points at the field; `msg_zh` says it in Chinese
    (the console shows it next to the field)."""

    loc: str
    msg: str
    msg_zh: str = ""

    def as_dict(self) -> dict[str, str | int]:
        """JSON-able form, as `plan.rejected` carries it."""
        out: dict[str, str | int] = {"loc": self.loc, "msg": self.msg}
        if self.msg_zh:
            out["msg_zh"] = self.msg_zh
        return out


class PlanInvalid(Invalid):
    """A plan was refused; `reasons` holds every reason."""

    def __init__(self, reasons: list[Reason]) -> None:
        super().__init__(
            f"plan refused: {len(reasons)} reason(s); first: {reasons[0].loc}: {reasons[0].msg}",
            code="plan_invalid",
            details=[r.as_dict() for r in reasons],
        )
        self.reasons = reasons


def filing_flags(plan: PlanSubmission, *, submitted_on: date) -> list[str]:
    """Late-filing flags: filed with the government by end of February, entered by 31 March."""
    return dated_flags(
        plan.year, filed_on=plan.filed_on, entered_on=plan.entered_on or submitted_on
    )


def dated_flags(year: int, *, filed_on: date | None, entered_on: date) -> list[str]:
    """The late-filing flags of a year's plan filed and entered on these dates."""
    flags = []
    if filed_on is None:
        flags.append("not_filed")
    elif filed_on > _end_of_february(year):
        flags.append("filed_late")
    if entered_on > date(year, 3, 31):
        flags.append("entered_late")
    return flags


def _end_of_february(year: int) -> date:
    return date(year, 3, 1) - timedelta(days=1)


def _check_scope(scope: PlanScope, loc: str, ruleset: RuleSet) -> list[Reason]:
    out = []
    for i, region in enumerate(scope.regions):
        if not _REGION.match(region):
            out.append(
                Reason(
                    f"{loc}.regions[{i}]",
                    f"{region!r} is not a 6-digit region code",
                    f"“{region}”不是6位区划代码",
                )
            )
    if len(set(scope.regions)) != len(scope.regions):
        out.append(Reason(f"{loc}.regions", "a region is listed twice", "区划重复"))
    for i, industry in enumerate(scope.industries):
        if not _INDUSTRY.match(industry):
            out.append(
                Reason(
                    f"{loc}.industries[{i}]",
                    f"{industry!r} is not a GB/T 4754 code",
                    f"“{industry}”不是国民经济行业分类（GB/T 4754）代码",
                )
            )
    for i, cls in enumerate(scope.risk_classes or []):
        if cls not in ruleset.risk_classes:
            out.append(
                Reason(
                    f"{loc}.risk_classes[{i}]",
                    f"unknown risk class {cls!r} (configured: {ruleset.risk_classes})",
                    f"未知的风险类别“{cls}”（规则配置的类别：{'、'.join(ruleset.risk_classes)}）",
                )
            )
    return out


def narrow(plan_values: list[str], item_values: list[str]) -> tuple[str, ...]:
    """Both restrictions at once; prefixes keep the longer of two compatible codes.

    Empty means no restriction, so two restrictions that do not meet give () as well: plans
    where that happens are refused (`validate_plan`) before strata are made.
    """
    if not plan_values or not item_values:
        return tuple(sorted(plan_values or item_values))
    out = {
        a if len(a) >= len(b) else b
        for a in plan_values
        for b in item_values
        if a.startswith(b) or b.startswith(a)
    }
    return tuple(sorted(out))


def types_of(planned: list[str], applies: list[str]) -> tuple[str, ...]:
    """Entity types of a stratum: both restrictions (exact names); empty means every type."""
    if not planned or not applies:
        return tuple(sorted(set(planned or applies)))
    return tuple(sorted(set(planned) & set(applies)))


def _check_reach(entry: PlanItemEntry, item: Item, scope: PlanScope, loc: str) -> list[Reason]:
    out = []
    for what, planned, applies, meet in (
        ("entity types", scope.entity_types, item.applies_to.entity_types, types_of),
        ("industries", scope.industries, item.applies_to.industries, narrow),
        ("tags", scope.tags, item.applies_to.tags, narrow),
    ):
        if planned and applies and not meet(planned, applies):
            out.append(
                Reason(
                    f"{loc}.item",
                    f"item {entry.item} applies to {what} {applies}, "
                    f"none of which the scope's {what} {planned} includes",
                    f"事项{entry.item}适用的{_WHAT_ZH[what]}（{'、'.join(applies)}）"
                    f"不在计划范围的{_WHAT_ZH[what]}（{'、'.join(planned)}）之内",
                )
            )
    return out


def _check_period(period: Period, year: int, loc: str) -> list[Reason]:
    out = []
    if period.end < period.start:
        out.append(
            Reason(
                f"{loc}.end",
                f"period ends ({period.end}) before it starts",
                f"结束日期（{period.end}）早于开始日期",
            )
        )
    if period.start.year != year or period.end.year != year:
        out.append(
            Reason(
                loc,
                f"period {period.start}–{period.end} is not within {year}",
                f"实施期限 {period.start}至{period.end} 不在{year}年内",
            )
        )
    return out


def validate_plan(plan: PlanSubmission, ruleset: RuleSet) -> list[Reason]:
    """Every reason the plan cannot be resolved under `ruleset` (empty when it can)."""
    out: list[Reason] = []
    departments = set(ruleset.departments)
    for i, dept in enumerate(plan.departments):
        if dept not in departments:
            out.append(
                Reason(f"departments[{i}]", f"unknown department {dept!r}", f"未知的部门“{dept}”")
            )
    if len(set(plan.departments)) != len(plan.departments):
        out.append(Reason("departments", "a department is listed twice", "部门重复"))
    if plan.lead_department is not None and plan.lead_department not in plan.departments:
        out.append(
            Reason(
                "lead_department",
                f"lead department {plan.lead_department!r} is not one of the plan's",
                f"牵头部门“{plan.lead_department}”不是本计划的部门",
            )
        )
    if len(plan.departments) > 1 and plan.lead_department is None:
        out.append(
            Reason(
                "lead_department",
                "a plan of several departments names its lead",
                "多部门联合计划须指定牵头部门",
            )
        )
    out += _check_scope(plan.scope, "scope", ruleset)
    out += _check_period(plan.period, plan.year, "period")
    seen: set[str] = set()
    for i, entry in enumerate(plan.items):
        loc = f"items[{i}]"
        item = ruleset.items.get(entry.item)
        if entry.item in seen:
            out.append(
                Reason(f"{loc}.item", f"item {entry.item} is listed twice", f"事项{entry.item}重复")
            )
        seen.add(entry.item)
        if item is None:
            out.append(
                Reason(
                    f"{loc}.item",
                    f"item {entry.item!r} is not in the catalogue",
                    f"事项“{entry.item}”不在检查事项清单中",
                )
            )
        else:
            out += _check_reach(entry, item, entry.scope or plan.scope, loc)
        if item is not None and item.department not in plan.departments:
            out.append(
                Reason(
                    f"{loc}.item",
                    f"item {entry.item} belongs to {item.department}, "
                    f"which is not a department of this plan",
                    f"事项{entry.item}属于{item.department}，不是本计划的部门",
                )
            )
        if (entry.ratio is None) == (entry.count is None):
            out.append(
                Reason(
                    loc,
                    "give exactly one of ratio or count",
                    "抽查比例和抽取户数须填写且只填写一项",
                )
            )
        if entry.ratio is not None and entry.ratio > 10000:
            out.append(Reason(f"{loc}.ratio", "a ratio is at most 100%", "抽查比例不能超过100%"))
        if entry.scope is not None:
            out += _check_scope(entry.scope, f"{loc}.scope", ruleset)
        if entry.period is not None:
            out += _check_period(entry.period, plan.year, f"{loc}.period")
    return out


def check_plan(plan: PlanSubmission, ruleset: RuleSet) -> None:
    """Raise `PlanInvalid` with every reason, or return when the plan is sound."""
    reasons = validate_plan(plan, ruleset)
    if reasons:
        raise PlanInvalid(reasons)
