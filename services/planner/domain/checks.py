"""The meaning of a rule set: what the schema cannot see.

Unknown items, departments and classes; ratios outside their range; one rule id with
overlapping effective dates; and contradicting rules (two rules that can fire on the same
stratum on the same day and cannot both hold).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from contracts.rules import Condition, Item, RulesetMeta

if TYPE_CHECKING:
    from services.planner.domain.ruleset import PlacedRule

Problem = tuple[str, int, str | None, str, str]
"""(file, line, rule label, reason, the reason in Chinese)."""

Why = tuple[str, str]
"""A reason in English and in Chinese."""

_MAX = 10000
_FAR = date(9999, 12, 31)


def pct(bp: int) -> str:
    """Basis points written back as a percentage, exactly ("5%", "0.5%", "12.25%")."""
    whole, frac = divmod(bp, 100)
    return f"{whole}%" if not frac else f"{whole}.{frac:02d}".rstrip("0") + "%"


def check_meaning(
    meta: RulesetMeta,
    item_lines: list[tuple[str, int, Item]],
    rules: list[PlacedRule],
    items: Mapping[str, Item],
) -> list[Problem]:
    """Every semantic problem of the rule set, in file order."""
    out: list[Problem] = []
    departments = {d.code for d in meta.departments}
    classes = {c.code for c in meta.risk_classes}
    out += _duplicates(("department", "部门"), [d.code for d in meta.departments])
    out += _duplicates(("risk class", "风险分类"), [c.code for c in meta.risk_classes])
    seen: dict[str, str] = {}
    for path, line, item in item_lines:
        label = f"{item.code} {item.name}"
        if item.code in seen:
            out.append(
                (
                    path,
                    line,
                    label,
                    f"item {item.code} is defined twice (also {seen[item.code]})",
                    f"抽查事项 {item.code} 定义了两次（另一处在 {seen[item.code]}）",
                )
            )
        seen.setdefault(item.code, f"{path}:{line}")
        if item.department not in departments:
            out.append(
                (
                    path,
                    line,
                    label,
                    f"unknown department {item.department!r}",
                    f"部门 {item.department} 不在规则集配置的部门中"
                    f"（{'、'.join(sorted(departments))}）",
                )
            )
    for rule in rules:
        problems = list(_rule_problems(rule, departments, classes, items))
        if not problems and not _candidate_items(rule.rule.when, items):
            problems.append(
                (
                    "the condition matches no item of the catalogue",
                    "条件（when）匹配不到检查事项清单中的任何抽查事项",
                )
            )
        out += [(rule.file, rule.line, rule.label, en, zh) for en, zh in problems]
    out += _overlaps(rules, items)
    return out


def _duplicates(what: Why, codes: list[str]) -> list[Problem]:
    dup = sorted({c for c in codes if codes.count(c) > 1})
    en, zh = what
    return [
        ("(rule set)", 0, None, f"{en} {c!r} is configured twice", f"{zh} {c} 配置了两次")
        for c in dup
    ]


_RATIO_ZH = {"cap_ratio": "抽查比例上限", "floor_ratio": "抽查比例下限"}


def _rule_problems(
    placed: PlacedRule, departments: set[str], classes: set[str], items: Mapping[str, Item]
) -> Iterable[Why]:
    rule = placed.rule
    when, then = rule.when, rule.then
    eff = rule.effective
    if eff.to is not None and eff.to < eff.from_:
        yield (
            f"effective.to {eff.to} is before effective.from {eff.from_}",
            f"失效日期 effective.to {eff.to} 早于生效日期 effective.from {eff.from_}",
        )
    for code in when.item or []:
        if code not in items:
            yield (
                f"unknown item {code!r} in when.item",
                f"when.item 中的抽查事项 {code} 不在检查事项清单中",
            )
    for code in when.department or []:
        if code not in departments:
            yield (
                f"unknown department {code!r} in when.department",
                f"when.department 中的部门 {code} 不在规则集配置的部门中",
            )
    for code in when.risk_class or []:
        if code not in classes:
            yield (
                f"unknown risk class {code!r} in when.risk_class (configured: {sorted(classes)})",
                f"when.risk_class 中的风险分类 {code} 未配置"
                f"（已配置：{'、'.join(sorted(classes))}）",
            )
    for kind in ("cap_ratio", "floor_ratio"):
        value = getattr(then, kind)
        if value is not None and not 0 < value <= _MAX:
            yield (
                f"{kind} {pct(value)} is outside (0, 100%]",
                f"{_RATIO_ZH[kind]} {kind} 为 {pct(value)}，应大于 0% 且不超过 100%",
            )
    if then.set_ratio is not None and not 0 <= then.set_ratio <= _MAX:
        yield (
            f"set_ratio {pct(then.set_ratio)} is outside [0, 100%]",
            f"抽查比例 set_ratio 为 {pct(then.set_ratio)}，应在 0% 到 100% 之间",
        )
    if then.multiply_ratio is not None:
        num, den = (int(x) for x in then.multiply_ratio.split("/"))
        if num == 0 or num > 100 * den:
            yield (
                f"multiply_ratio {num / den:g} is outside (0, 100]",
                f"抽查比例倍数 multiply_ratio 为 {num / den:g}，应大于 0 且不超过 100",
            )
    if then.merge is not None and then.merge.lead not in departments:
        yield (
            f"unknown lead department {then.merge.lead!r} in merge",
            f"联合抽查（merge）的牵头部门 {then.merge.lead} 不在规则集配置的部门中",
        )


def _candidate_items(when: Condition, items: Mapping[str, Item]) -> set[str]:
    out = set()
    for code, item in items.items():
        if when.item is not None and code not in when.item:
            continue
        if when.item_kind is not None and item.kind != when.item_kind:
            continue
        if when.department is not None and item.department not in when.department:
            continue
        if when.key_supervision is not None and bool(item.key_supervision) != when.key_supervision:
            continue
        out.add(code)
    return out


def _regions_meet(a: list[str] | None, b: list[str] | None) -> bool:
    if a is None or b is None:
        return True
    return any(x.startswith(y) or y.startswith(x) for x in a for y in b)


def conditions_overlap(a: Condition, b: Condition, items: Mapping[str, Item]) -> bool:
    """Whether some stratum can satisfy both conditions."""
    if not _candidate_items(a, items) & _candidate_items(b, items):
        return False
    if a.risk_class is not None and b.risk_class is not None:
        if not set(a.risk_class) & set(b.risk_class):
            return False
    if a.tag is not None and b.tag is not None and not set(a.tag) & set(b.tag):
        return False  # a stratum within both tag lists carries a tag of both
    return _regions_meet(a.region, b.region)


def _dates_overlap(a: PlacedRule, b: PlacedRule) -> bool:
    ea, eb = a.rule.effective, b.rule.effective
    return ea.from_ <= (eb.to or _FAR) and eb.from_ <= (ea.to or _FAR)


def _contradiction(a: PlacedRule, b: PlacedRule) -> Why | None:
    ta, tb = a.rule.then, b.rule.then
    if ta.set_ratio is not None and tb.set_ratio is not None and ta.set_ratio != tb.set_ratio:
        return (
            f"sets the ratio to {pct(tb.set_ratio)} where {a.label} sets {pct(ta.set_ratio)}",
            f"把抽查比例设为 {pct(tb.set_ratio)}，而 {a.label} 设为 {pct(ta.set_ratio)}",
        )
    for x, y in ((ta, tb), (tb, ta)):
        if x.floor_ratio is not None and y.cap_ratio is not None and x.floor_ratio > y.cap_ratio:
            return (
                f"floor {pct(x.floor_ratio)} is above cap {pct(y.cap_ratio)} (with {a.label})",
                f"抽查比例下限 {pct(x.floor_ratio)} 高于上限 {pct(y.cap_ratio)}（与 {a.label}）",
            )
        if x.require_method is not None and x.require_method == y.forbid_method:
            return (
                f"requires and forbids method {x.require_method.value} (with {a.label})",
                f"检查方式 {x.require_method.value} 既被要求又被禁止（与 {a.label}）",
            )
    if ta.set_frequency and tb.set_frequency and ta.set_frequency != tb.set_frequency:
        return (
            f"sets a different frequency from {a.label} on the same strata",
            f"在相同分层上设定了与 {a.label} 不同的抽查频次",
        )
    if ta.merge and tb.merge and ta.merge != tb.merge:
        return (
            f"merges into a different joint group from {a.label} on the same strata",
            f"在相同分层上并入了与 {a.label} 不同的联合抽查组",
        )
    if ta.batch and tb.batch and ta.batch != tb.batch:
        return (
            f"sets a different batch size from {a.label} on the same strata",
            f"在相同分层上设定了与 {a.label} 不同的每批户数",
        )
    return None


def _overlaps(rules: list[PlacedRule], items: Mapping[str, Item]) -> list[Problem]:
    out: list[Problem] = []
    for i, a in enumerate(rules):
        for b in rules[i + 1 :]:
            if not _dates_overlap(a, b):
                continue
            if a.rule.id == b.rule.id:
                ea, eb = a.rule.effective, b.rule.effective
                out.append(
                    (
                        b.file,
                        b.line,
                        b.label,
                        (
                            f"rule id {b.rule.id} is already effective {ea.from_}–{ea.to or '…'} "
                            f"({a.file}:{a.line}); its dates {eb.from_}–{eb.to or '…'} overlap"
                        ),
                        (
                            f"规则编号 {b.rule.id} 已在 {ea.from_} 至 {ea.to or '长期'} 生效"
                            f"（{a.file}:{a.line}）；这里的生效期间 {eb.from_} 至 {eb.to or '长期'}"
                            " 与之重叠"
                        ),
                    )
                )
                continue
            if not conditions_overlap(a.rule.when, b.rule.when, items):
                continue
            why = _contradiction(a, b)
            if why:
                en, zh = why
                out.append(
                    (
                        b.file,
                        b.line,
                        b.label,
                        f"contradicts {a.label}: {en}",
                        f"与 {a.label} 矛盾：{zh}",
                    )
                )
    return out
