"""The plan form ↔ a plan submission (`contracts.planner.PlanSubmission`), and every refusal
back to the field it concerns.

The form has one input per plan field, and per item of the catalogue a checkbox
(`item-<code>`), a ratio (`ratio-<code>`, "3" or "3%" or "0.5%") and a count
(`count-<code>`). The submission is checked here against the same contract the planner
checks (so a missing date is named at once, in Chinese), then the planner checks its meaning
against the active rules and answers every reason with `loc` (`items[1].ratio`,
`scope.regions[0]`, `period.end`) and `msg_zh`: `field_of` puts each next to its field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from contracts.planner import PlanSubmission

LIST_SPLIT = re.compile(r"[\s,，、;；]+")
ENTITY_TYPES = ("企业", "个体工商户", "农民专业合作社")
SCOPE_FIELDS = {
    "regions": "regions",
    "industries": "industries",
    "tags": "tags",
    "risk_classes": "risk_classes",
    "entity_types": "entity_types",
}
LABELS = {
    "plan_id": "计划编号",
    "title": "计划名称",
    "year": "年度",
    "departments": "部门",
    "lead_department": "牵头部门",
    "regions": "区划",
    "entity_types": "主体类型",
    "industries": "行业",
    "tags": "标签",
    "risk_classes": "风险类别",
    "period_start": "开始日期",
    "period_end": "结束日期",
    "batches": "批次",
    "filed_on": "报备日期",
    "entered_on": "录入日期",
    "items": "检查事项",
}


@dataclass
class Problems:
    """Refusals by form field (`None`: the form as a whole)."""

    by_field: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str | None, message: str) -> None:
        """One more refusal of a field, or of the whole form."""
        if name is None:
            self.general.append(message)
        elif message not in self.by_field.setdefault(name, []):
            self.by_field[name].append(message)

    def __bool__(self) -> bool:
        return bool(self.by_field or self.general)

    def first(self, name: str) -> str:
        """The refusals of one field in one line (the template shows it under the field)."""
        return "；".join(self.by_field.get(name, []))


def split_list(text: str) -> list[str]:
    """`360202, 360203` / `360202 360203` / `360202、360203` → the codes."""
    return [v for v in LIST_SPLIT.split(text.strip()) if v]


def ratio_text(text: str) -> str:
    """What a planner types as a ratio, as the contract reads it: `3` → `3%`."""
    value = text.strip().replace("％", "%")
    if value and not value.endswith(("%", "bp")):
        value += "%"
    return value


def submission_from_form(
    values: Mapping[str, str | list[str]], *, catalogue: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    """The submission as JSON and the item codes in its order (to map `items[i]` back)."""

    def one(name: str) -> str:
        v = values.get(name, "")
        return (v[0] if v else "") if isinstance(v, list) else v.strip()

    def many(name: str) -> list[str]:
        v = values.get(name, [])
        return [x for x in (v if isinstance(v, list) else [v]) if x]

    codes = [c for c in catalogue if one(f"item-{c}")]
    items: list[dict[str, Any]] = []
    for code in codes:
        entry: dict[str, Any] = {"item": code}
        if one(f"ratio-{code}"):
            entry["ratio"] = ratio_text(one(f"ratio-{code}"))
        if one(f"count-{code}"):
            count = one(f"count-{code}")
            entry["count"] = int(count) if count.isdigit() else count
        items.append(entry)
    departments = many("departments")
    scope: dict[str, Any] = {"regions": split_list(one("regions"))}
    if many("entity_types"):
        scope["entity_types"] = many("entity_types")
    if one("industries"):
        scope["industries"] = split_list(one("industries"))
    if one("tags"):
        scope["tags"] = split_list(one("tags"))
    if many("risk_classes"):
        scope["risk_classes"] = many("risk_classes")
    body: dict[str, Any] = {
        "title": one("title"),
        "year": int(one("year")) if one("year").isdigit() else one("year"),
        "departments": departments,
        "scope": scope,
        "period": {"start": one("period_start") or None, "end": one("period_end") or None},
        "items": items,
        "batches": int(one("batches")) if one("batches").isdigit() else one("batches") or 1,
    }
    if one("plan_id"):
        body["plan_id"] = one("plan_id")
    lead = one("lead_department") or (departments[0] if len(departments) == 1 else "")
    if lead:
        body["lead_department"] = lead
    for name in ("filed_on", "entered_on"):
        if one(name):
            body[name] = one(name)
    return body, codes


def _loc_text(loc: Sequence[str | int]) -> str:
    """`["items", 0, "ratio"]` → `items[0].ratio`, the planner's way of naming a field."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + part
    return out


_INDEX = re.compile(r"\[(\d+)\]")


def field_of(loc: str, codes: Sequence[str]) -> str | None:
    """The form field a refusal's `loc` names (`None` when it concerns the whole plan)."""
    head, _, rest = loc.partition(".")
    base = _INDEX.sub("", head)
    if base == "items":
        m = _INDEX.search(head)
        if not m or int(m.group(1)) >= len(codes):
            return "items"
        code = codes[int(m.group(1))]
        if rest.startswith("ratio"):
            return f"ratio-{code}"
        if rest.startswith("count"):
            return f"count-{code}"
        return f"item-{code}"
    if base == "scope":
        return SCOPE_FIELDS.get(_INDEX.sub("", rest.split(".")[0]), "regions")
    if base == "period":
        return "period_end" if rest.startswith("end") else "period_start"
    if base in LABELS:
        return base
    return None


_TYPE_ZH = {
    "missing": "请填写此项",
    "string_too_short": "请填写此项",
    "too_short": "请至少选择或填写一项",
    "int_parsing": "请填写整数",
    "int_type": "请填写整数",
    "date_from_datetime_parsing": "请填写有效的日期（年-月-日）",
    "date_parsing": "请填写有效的日期（年-月-日）",
    "date_type": "请填写有效的日期（年-月-日）",
    "string_pattern_mismatch": "只能包含字母、数字、- 和 _（最多48位）",
}


def _zh(error: Mapping[str, Any]) -> str:
    kind = str(error.get("type", ""))
    ctx = error.get("ctx") or {}
    if kind == "greater_than_equal":
        return f"不能小于{ctx.get('ge')}"
    if kind == "less_than_equal":
        return f"不能大于{ctx.get('le')}"
    if kind == "value_error" and "ratio" in str(error.get("msg", "")):
        return "比例应写成 3% 或 0.5% 这样的百分数"
    if kind.endswith("_type") and error.get("input") is None:
        return "请填写此项"
    return _TYPE_ZH.get(kind, "填写有误")


_REGION = re.compile(r"^\d{6}$")


def check_form(body: Mapping[str, Any], codes: Sequence[str]) -> Problems:
    """What the contract refuses before the planner is asked, each at its field, and the
    planner's checks that need no rules (so that all of them show at once)."""
    problems = Problems()
    if not codes:
        problems.add("items", "请至少选择一个检查事项")
    for entry in body.get("items") or []:
        if ("ratio" in entry) == ("count" in entry):
            problems.add(f"item-{entry['item']}", "抽查比例和抽取户数须填写且只填写一项")
    for region in (body.get("scope") or {}).get("regions") or []:
        if not _REGION.match(str(region)):
            problems.add("regions", f"“{region}”不是6位区划代码")
    departments = body.get("departments") or []
    if len(departments) > 1 and not body.get("lead_department"):
        problems.add("lead_department", "多部门联合计划须指定牵头部门")
    period = body.get("period") or {}
    start, end, year = period.get("start"), period.get("end"), str(body.get("year", ""))
    if start and end and str(end) < str(start):
        problems.add("period_end", f"结束日期（{end}）早于开始日期")
    for name, value in (("period_start", start), ("period_end", end)):
        if value and year.isdigit() and not str(value).startswith(year):
            problems.add(name, f"实施期限应在{year}年内")
    try:
        PlanSubmission.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            loc = _loc_text([p for p in err["loc"] if isinstance(p, str | int)])
            if loc == "items" and not codes:
                continue  # said above
            problems.add(field_of(loc, codes), _zh(dict(err)))
    return problems


def problems_from_refusal(details: Sequence[Mapping[str, Any]], codes: Sequence[str]) -> Problems:
    """The planner's (or the API's) reasons, each next to its field, in Chinese when given."""
    problems = Problems()
    for d in details:
        raw = d.get("loc", "")
        if isinstance(raw, list):
            raw = _loc_text([p for p in raw if p != "body" and isinstance(p, str | int)])
        message = str(d.get("msg_zh") or d.get("msg") or "")
        if not d.get("msg_zh") and d.get("type"):
            message = _zh(d)
        problems.add(field_of(str(raw), codes), message)
    return problems


def values_from_submission(body: Mapping[str, Any]) -> dict[str, str | list[str]]:
    """A submission (an uploaded YAML) as form values, to show it in the form."""
    scope = body.get("scope") or {}
    period = body.get("period") or {}
    out: dict[str, str | list[str]] = {
        "plan_id": str(body.get("plan_id") or ""),
        "title": str(body.get("title") or ""),
        "year": str(body.get("year") or ""),
        "departments": [str(d) for d in body.get("departments") or []],
        "lead_department": str(body.get("lead_department") or ""),
        "regions": " ".join(map(str, scope.get("regions") or [])),
        "entity_types": [str(t) for t in scope.get("entity_types") or []],
        "industries": " ".join(map(str, scope.get("industries") or [])),
        "tags": " ".join(map(str, scope.get("tags") or [])),
        "risk_classes": [str(c) for c in scope.get("risk_classes") or []],
        "period_start": str(period.get("start") or ""),
        "period_end": str(period.get("end") or ""),
        "batches": str(body.get("batches") or 1),
        "filed_on": str(body.get("filed_on") or ""),
        "entered_on": str(body.get("entered_on") or ""),
    }
    for entry in body.get("items") or []:
        if isinstance(entry, Mapping) and entry.get("item"):
            code = str(entry["item"])
            out[f"item-{code}"] = "on"
            if entry.get("ratio") is not None:
                out[f"ratio-{code}"] = str(entry["ratio"])
            if entry.get("count") is not None:
                out[f"count-{code}"] = str(entry["count"])
    return out
