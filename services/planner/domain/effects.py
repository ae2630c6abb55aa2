"""The fixed registry of effects: what a fired rule does to a stratum's evaluation.

The engine looks actions up here by name (the effect kind of the rule vocabulary); a rule file
can name nothing else. All arithmetic is in integer basis points.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from contracts.rules import Frequency, Method, Rule
from services.planner.domain.checks import pct

FULL = 10000
"""100% in basis points."""


@dataclass
class Evaluation:
    """A stratum's state while its rules fire, and its outcome."""

    n: int
    bp: int | None
    count: int | None
    frequency: Frequency
    n_known: bool = True
    count_cap: int | None = None
    """The tightest cap (bp) met by a count; kept so the draw applies it to the real n."""
    excluded: str | None = None
    required: list[Method] = field(default_factory=list)
    forbidden: list[Method] = field(default_factory=list)
    batch_size: int | None = None
    merge_group: str | None = None
    merge_lead: str | None = None
    fired: list[tuple[str, str, str]] = field(default_factory=list)
    """(rule id, 中文名, what it did) in firing order."""

    def note(self, rule: Rule, detail: str) -> None:
        """Record that `rule` fired and what it did."""
        self.fired.append((rule.id, rule.name, detail))


def ceil_div(a: int, b: int) -> int:
    """Ceiling of a / b for non-negative integers."""
    return (a + b - 1) // b


def sample_size(n: int, bp: int) -> int:
    """k = ceil(n × bp / 10000), capped at n (DESIGN §6)."""
    return min(n, (n * bp + 9999) // 10000)


def _count_untouched(ev: Evaluation, rule: Rule) -> None:
    # A department that plans a number of entities meant that number: only caps bind it.
    ev.note(rule, f"按数量抽取（{ev.count} 户），不调整比例")


def _set_ratio(ev: Evaluation, rule: Rule) -> None:
    value = rule.then.set_ratio
    assert value is not None
    if ev.bp is None:
        _count_untouched(ev, rule)
        return
    ev.note(rule, f"比例 {pct(ev.bp)} → {pct(value)}")
    ev.bp = value


def _multiply_ratio(ev: Evaluation, rule: Rule) -> None:
    assert rule.then.multiply_ratio is not None
    if ev.bp is None:
        _count_untouched(ev, rule)
        return
    num, den = (int(x) for x in rule.then.multiply_ratio.split("/"))
    # Rounded up to a whole basis point, like k: a multiplier never lowers a ratio to zero.
    new = min(FULL, ceil_div(ev.bp * num, den))
    ev.note(rule, f"比例 {pct(ev.bp)} × {_decimal(num, den)} → {pct(new)}")
    ev.bp = new


def _decimal(num: int, den: int) -> str:
    digits = len(str(den)) - 1
    whole, frac = divmod(num, den)
    return f"{whole}.{frac:0{digits}d}".rstrip("0").rstrip(".")


def _floor_ratio(ev: Evaluation, rule: Rule) -> None:
    value = rule.then.floor_ratio
    assert value is not None
    if ev.bp is None:
        _count_untouched(ev, rule)
        return
    if ev.bp < value:
        ev.note(rule, f"比例 {pct(ev.bp)} 低于下限 → {pct(value)}")
        ev.bp = value
    else:
        ev.note(rule, f"下限 {pct(value)} 未触及（{pct(ev.bp)}）")


def _cap_ratio(ev: Evaluation, rule: Rule) -> None:
    value = rule.then.cap_ratio
    assert value is not None
    if ev.bp is None:
        assert ev.count is not None
        ev.count_cap = value if ev.count_cap is None else min(ev.count_cap, value)
        if not ev.n_known:
            # Without the registry's n the limit is unknown here: the draw applies it.
            ev.note(rule, f"数量 {ev.count}，上限 {pct(value)}：抽取时至多 ⌈n×{pct(value)}⌉ 户")
            return
        limit = sample_size(ev.n, value)
        if ev.count > limit:
            ev.note(rule, f"数量 {ev.count} 超过上限 {pct(value)}（{limit}）→ {limit}")
            ev.count = limit
        else:
            ev.note(rule, f"上限 {pct(value)} 未触及（数量 {ev.count}）")
        return
    if ev.bp > value:
        ev.note(rule, f"比例 {pct(ev.bp)} 超过上限 → {pct(value)}")
        ev.bp = value
    else:
        ev.note(rule, f"上限 {pct(value)} 未触及（{pct(ev.bp)}）")


def _exclude(ev: Evaluation, rule: Rule) -> None:
    ev.note(rule, f"不抽取：{rule.then.exclude}")
    if ev.excluded is None:
        ev.excluded = rule.then.exclude


def _require_method(ev: Evaluation, rule: Rule) -> None:
    method = rule.then.require_method
    assert method is not None
    ev.note(rule, f"必须采用 {method.value}")
    if method not in ev.required:
        ev.required.append(method)


def _forbid_method(ev: Evaluation, rule: Rule) -> None:
    method = rule.then.forbid_method
    assert method is not None
    ev.note(rule, f"不采用 {method.value}")
    if method not in ev.forbidden:
        ev.forbidden.append(method)


def _set_frequency(ev: Evaluation, rule: Rule) -> None:
    freq = rule.then.set_frequency
    assert freq is not None
    ev.note(rule, f"频次 {freq.months} 个月内至多 {freq.times} 次")
    ev.frequency = freq


def _batch(ev: Evaluation, rule: Rule) -> None:
    assert rule.then.batch is not None
    ev.note(rule, f"每批至多 {rule.then.batch.size} 户，批次顺序随机")
    ev.batch_size = rule.then.batch.size


def _merge(ev: Evaluation, rule: Rule) -> None:
    merge = rule.then.merge
    assert merge is not None
    ev.note(rule, f"可并入联合抽查组 {merge.group}（牵头 {merge.lead}）")
    ev.merge_group, ev.merge_lead = merge.group, merge.lead


REGISTRY: dict[str, Callable[[Evaluation, Rule], None]] = {
    "set_ratio": _set_ratio,
    "multiply_ratio": _multiply_ratio,
    "floor_ratio": _floor_ratio,
    "cap_ratio": _cap_ratio,
    "exclude": _exclude,
    "require_method": _require_method,
    "forbid_method": _forbid_method,
    "set_frequency": _set_frequency,
    "batch": _batch,
    "merge": _merge,
}
"""Effect kind → function. The only actions a compiled rule set can run."""
