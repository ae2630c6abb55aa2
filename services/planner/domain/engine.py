"""The rule engine: a rule set compiled to durable-rules, evaluated on strata facts.

This is the only module that imports durable_rules. What it guards against
(see notes/durable-rules.md):
- every rule set version gets a fresh `Host` (a ruleset name cannot be registered twice);
- the definitions are deep-copied before `set_rulesets`, which mutates them;
- a catch-all rule with the lowest priority: an unmatched fact would raise;
- actions are looked up by name in the fixed registry `effects.REGISTRY`;
- action errors are swallowed into the session state: checked after every call;
- single-fact calls only (batch calls return before their actions ran); each fact is retracted
  after its evaluation so that a session does not grow;
- calls block: callers in async code run `evaluate` in a worker thread, one at a time.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from durable.engine import Host, MessageNotHandledException, MessageObservedException

from contracts.rules import Condition, Frequency, Item, Method, Rule
from services.kit.errors import DomainError
from services.planner.domain.effects import REGISTRY, Evaluation, ceil_div, sample_size
from services.planner.domain.ruleset import PlacedRule, RuleSet

_CATCH_ALL = "noop"
_SID = "strata"


class EngineError(DomainError):
    """The rule engine failed on a stratum (a bug, never a policy outcome)."""

    status = 500
    code = "engine_error"


@dataclass(frozen=True)
class StratumFact:
    """What the rules see of one stratum: plan item × risk class × region, and its size."""

    stratum_id: str
    item: Item
    risk_class: str
    region: str
    n: int
    bp: int | None
    count: int | None
    on: date
    n_known: bool = True
    tags: tuple[str, ...] = ()
    """The stratum's tag restriction (its entities carry any of these); empty: none."""
    """False when the plan is resolved without the registry's counts (n is then 0)."""


@dataclass(frozen=True)
class Outcome:
    """A stratum after its rules fired: sample size, methods, and the explanation."""

    stratum_id: str
    n: int
    bp: int | None
    count: int | None
    k: int
    methods: tuple[Method, ...]
    on_site_required: bool
    excluded: str | None
    merge_group: str | None
    merge_lead: str | None
    frequency: Frequency
    batch_size: int | None
    batches: int
    fired: tuple[tuple[str, str, str], ...]
    count_cap_bp: int | None = None
    """For a count: the tightest cap; the draw takes at most ceil(n × cap) of the real n."""

    @property
    def fired_names(self) -> list[str]:
        """Chinese names of the rules that fired, in order."""
        return [name for _, name, _ in self.fired]

    @property
    def explanation(self) -> list[str]:
        """One line per fired rule: `中文名（id）：what it did`."""
        return [f"{name}（{rid}）：{detail}" for rid, name, detail in self.fired]


def _day(value: date) -> int:
    return value.year * 10000 + value.month * 100 + value.day


def _any_of(field: str, values: list[str]) -> dict[str, Any]:
    if len(values) == 1:
        return {field: values[0]}
    return {"$or": [{field: v} for v in values]}


def tag_sets(ruleset: RuleSet) -> list[tuple[str, ...]]:
    """The distinct tag lists of the rules' `when.tag`, each sorted; fact field `tags_in_<i>`."""
    return sorted({tuple(sorted(set(r.rule.when.tag))) for r in ruleset.rules if r.rule.when.tag})


def tags_within(stratum_tags: tuple[str, ...], allowed: tuple[str, ...]) -> bool:
    """Whether every entity of the stratum carries one of `allowed`: its tag restriction is
    not empty and lies inside `allowed` (a stratum without one also holds untagged entities)."""
    return bool(stratum_tags) and set(stratum_tags) <= set(allowed)


def compile_condition(rule: Rule, tags: list[tuple[str, ...]] | None = None) -> dict[str, Any]:
    """The durable-rules condition of a rule: its `when` plus its effective dates.

    `tags` are the rule set's `tag_sets`: a tag condition matches the boolean fact field of its
    tag list (set-inclusion is worked out per fact, as the day number is).
    """
    when: Condition = rule.when
    terms: list[dict[str, Any]] = [{"$gte": {"date": _day(rule.effective.from_)}}]
    if rule.effective.to is not None:
        terms.append({"$lte": {"date": _day(rule.effective.to)}})
    if when.item is not None:
        terms.append(_any_of("item", when.item))
    if when.item_kind is not None:
        terms.append({"item_kind": when.item_kind.value})
    if when.department is not None:
        terms.append(_any_of("department", when.department))
    if when.key_supervision is not None:
        terms.append({"key_supervision": when.key_supervision})
    if when.risk_class is not None:
        terms.append(_any_of("risk_class", when.risk_class))
    if when.region is not None:
        # Region prefixes are digits only (schema), so they are safe inside a pattern.
        patterns = [{"$mt": {"region": f"{prefix}.*"}} for prefix in when.region]
        terms.append(patterns[0] if len(patterns) == 1 else {"$or": patterns})
    if when.n_at_least is not None:
        terms.append({"$gte": {"n": when.n_at_least}})
    if when.tag is not None:
        index = (tags or []).index(tuple(sorted(set(when.tag))))
        terms.append({f"tags_in_{index}": True})
    return {"$and": terms}


def compile_ruleset(ruleset: RuleSet) -> dict[str, Any]:
    """The durable-rules definition (JSON form) of a rule set; actions are registry names."""
    rules: dict[str, Any] = {}
    tags = tag_sets(ruleset)
    for pri, placed in enumerate(ruleset.rules):
        rules[f"r{pri:04d}"] = {
            "pri": pri + 1,
            "all": [{"m": compile_condition(placed.rule, tags)}],
            "run": f"{placed.rule.then.kind}:{pri}",
        }
    # Lowest priority, matches every fact: an unmatched fact would raise instead.
    rules["zz_catch_all"] = {
        "pri": len(ruleset.rules) + 1_000_000,
        "all": [{"m": {"$ex": {"n": 1}}}],
        "run": _CATCH_ALL,
    }
    return {ruleset_name(ruleset): rules}


def ruleset_name(ruleset: RuleSet) -> str:
    """Name of the compiled ruleset (the version makes it unique per host anyway)."""
    return f"spotcheck_{ruleset.version[:16]}"


class _Host(Host):  # type: ignore[misc]
    """A durable-rules host whose actions come only from the fixed registry."""

    def __init__(self, resolve: Callable[[str], Callable[[Any], None]]) -> None:
        self._resolve = resolve
        super().__init__()

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        return self._resolve(action_name)


class RuleEngine:
    """A compiled rule set. `evaluate` is thread-safe (one durable-rules call at a time).

    durable-rules decides which rules fire on a stratum, and in which order; the effects of the
    fired rules are then applied from the fixed registry. The firing depends only on the
    fact's rule inputs (item, class, date, and which region prefixes, size thresholds and tag
    lists of the rule set it meets), so with `memo` strata with the same inputs reuse one
    evaluation: a province plan has tens of thousands of strata but a few hundred distinct
    inputs.
    """

    MEMO_LIMIT = 200_000

    def __init__(self, ruleset: RuleSet, *, memo: bool = True) -> None:
        self.ruleset = ruleset
        self.name = ruleset_name(ruleset)
        self._rules: list[PlacedRule] = list(ruleset.rules)
        # Effect function per rule position, looked up once in the fixed registry.
        self._effects = [(REGISTRY[r.rule.then.kind], r.rule) for r in self._rules]
        self._pending: dict[int, list[int]] = {}
        self._next_id = 0
        self._lock = threading.Lock()
        self._memo = memo
        self._fired: dict[tuple[Any, ...], tuple[int, ...]] = {}
        self._prefixes = sorted({p for r in self._rules for p in r.rule.when.region or []})
        self._tag_sets = tag_sets(ruleset)
        self._thresholds = sorted(
            {r.rule.when.n_at_least for r in self._rules if r.rule.when.n_at_least is not None}
        )
        self.durable_calls = 0
        self.definition = compile_ruleset(ruleset)
        self._host = _Host(self._action)
        self._host.set_rulesets(copy.deepcopy(self.definition))

    def _action(self, name: str) -> Callable[[Any], None]:
        if name == _CATCH_ALL:
            return lambda c: None
        kind, _, index = name.partition(":")
        if kind not in REGISTRY or not index.isdigit() or int(index) >= len(self._rules):
            raise EngineError(f"no action {name!r} in the registry")
        position = int(index)

        def run(c: Any) -> None:
            self._record(c.m.id, position)

        return run

    def _record(self, fact_id: int, position: int) -> None:
        self._pending[fact_id].append(position)

    def _signature(self, fact: StratumFact) -> tuple[Any, ...]:
        return (
            fact.item.code,
            fact.risk_class,
            _day(fact.on),
            tuple(fact.region.startswith(p) for p in self._prefixes),
            tuple(fact.n >= t for t in self._thresholds),
            tuple(tags_within(fact.tags, ts) for ts in self._tag_sets),
        )

    def fire(self, fact: StratumFact) -> tuple[int, ...]:
        """Positions (in `ruleset.rules`) of the rules durable-rules fires on `fact`, in order."""
        key = self._signature(fact)
        with self._lock:
            if self._memo and key in self._fired:
                return self._fired[key]
            fired = self._fire_durable(fact)
            if self._memo:
                if len(self._fired) >= self.MEMO_LIMIT:
                    self._fired.clear()
                self._fired[key] = fired
            return fired

    def _fire_durable(self, fact: StratumFact) -> tuple[int, ...]:
        item = fact.item
        self._next_id += 1
        fid = self._next_id
        self._pending[fid] = []
        message = {
            "sid": _SID,
            "id": fid,
            "item": item.code,
            "item_kind": item.kind.value,
            "department": item.department,
            # the condition asks whether the item is on a key-supervision list, not which
            "key_supervision": bool(item.key_supervision),
            "risk_class": fact.risk_class,
            "region": fact.region,
            "n": fact.n,
            "date": _day(fact.on),
        }
        for index, allowed in enumerate(self._tag_sets):
            message[f"tags_in_{index}"] = tags_within(fact.tags, allowed)
        self.durable_calls += 1
        try:
            state = self._host.assert_fact(self.name, message)
            failure = state.get("exception") if isinstance(state, dict) else None
            self._host.retract_fact(self.name, message)
        except (MessageNotHandledException, MessageObservedException) as exc:
            self._reset()
            raise EngineError(f"durable-rules refused stratum {fact.stratum_id}: {exc}") from exc
        finally:
            fired = tuple(self._pending.pop(fid, ()))
        if failure:
            self._reset()
            raise EngineError(f"a rule action failed on stratum {fact.stratum_id}: {failure}")
        return fired

    def evaluate(self, fact: StratumFact) -> Outcome:
        """Fire the rules on one stratum, apply their effects, compute its sample size."""
        ev = Evaluation(
            n=fact.n,
            bp=fact.bp,
            count=fact.count,
            frequency=self.ruleset.meta.defaults.frequency,
            n_known=fact.n_known,
        )
        for position in self.fire(fact):
            effect, rule = self._effects[position]
            try:
                effect(ev, rule)
            except Exception as exc:
                raise EngineError(
                    f"rule {rule.id} {rule.name} failed on stratum {fact.stratum_id}: {exc}"
                ) from exc
        return _finish(fact, ev)

    def _reset(self) -> None:
        # The exception stays in the session state until the session is deleted.
        try:
            self._host.delete_state(self.name, _SID)
        except Exception:
            pass

    def close(self) -> None:
        """Stop the host's background timers (a retired version keeps no thread busy)."""
        for _ in range(3):
            for attr in ("_d_timer", "_t_timer"):
                timer = getattr(self._host, attr, None)
                if timer is not None:
                    timer.cancel()


def raw_assert_rate(count: int) -> float:
    """Facts/s of bare `assert_fact` on a trivial one-rule ruleset (the benchmark's yardstick).

    Same fact shape as a stratum, a no-op action, facts kept (no retract): the engine's floor.
    """
    import time

    host = _Host(lambda name: lambda c: None)
    host.set_rulesets({"trivial": {"all_": {"all": [{"m": {"$ex": {"n": 1}}}], "run": "noop"}}})
    facts = [
        {
            "sid": "raw",
            "id": i,
            "item": "X-001",
            "item_kind": "general",
            "department": "SCJG",
            "key_supervision": False,
            "risk_class": "B",
            "region": "360202",
            "n": i,
            "date": 20260301,
        }
        for i in range(count)
    ]
    start = time.perf_counter()
    for fact in facts:
        host.assert_fact("trivial", fact)
    elapsed = time.perf_counter() - start
    for attr in ("_d_timer", "_t_timer"):
        getattr(host, attr).cancel()
    return count / elapsed


def _finish(fact: StratumFact, ev: Evaluation) -> Outcome:
    methods = [m for m in fact.item.methods if m not in ev.forbidden]
    methods += [m for m in ev.required if m not in methods]
    excluded = ev.excluded
    clash = [m.value for m in ev.required if m in ev.forbidden]
    if excluded is None and clash:
        excluded = f"规则同时要求和禁止检查方式 {', '.join(clash)}"
    if excluded is None and not methods:
        forbidden = ", ".join(m.value for m in ev.forbidden)
        excluded = f"该事项可用的检查方式均被规则排除（{forbidden}）"
    if excluded is not None:
        k = 0
    elif ev.bp is not None:
        k = sample_size(fact.n, ev.bp)
    else:
        k = min(fact.n, ev.count or 0)
    batches = ceil_div(k, ev.batch_size) if ev.batch_size and k > ev.batch_size else 1
    return Outcome(
        stratum_id=fact.stratum_id,
        n=fact.n,
        bp=ev.bp,
        count=ev.count,
        k=k,
        methods=tuple(methods),
        on_site_required=Method.ON_SITE in ev.required,
        excluded=excluded,
        merge_group=ev.merge_group,
        merge_lead=ev.merge_lead,
        frequency=ev.frequency,
        batch_size=ev.batch_size,
        batches=batches,
        fired=tuple(ev.fired),
        count_cap_bp=ev.count_cap if ev.bp is None else None,
    )
