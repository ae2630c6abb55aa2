"""`rules/tests/*.yaml`: example strata and what the rules must make of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from contracts.rules import RuleCase, RuleCaseFile
from services.planner.domain.checks import pct
from services.planner.domain.engine import Outcome, StratumFact
from services.planner.domain.ruleset import RuleError, RuleSet
from services.planner.domain.yamlpos import YamlError, load


@dataclass(frozen=True)
class CaseResult:
    """One case: where it is written, what was expected, what came out."""

    file: str
    line: int
    name: str
    expected: str
    got: str
    failures: tuple[str, ...]

    @property
    def ok(self) -> bool:
        """Whether every expected field matched."""
        return not self.failures


def parse_cases(
    files: Mapping[str, bytes],
) -> tuple[list[tuple[str, int, RuleCase]], list[RuleError]]:
    """The cases of every test file, with their lines; errors name file and line."""
    cases: list[tuple[str, int, RuleCase]] = []
    errors: list[RuleError] = []
    for path in sorted(files, key=lambda p: p.encode()):
        try:
            located = load(files[path].decode("utf-8"))
        except (YamlError, UnicodeDecodeError) as exc:
            line = exc.line if isinstance(exc, YamlError) else 1
            errors.append(RuleError(path, line, None, str(exc)))
            continue
        try:
            parsed = RuleCaseFile.model_validate(located.data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
                msg = str(err["msg"]).removeprefix("Value error, ")
                errors.append(
                    RuleError(path, located.line_of(loc), None, f"{'.'.join(map(str, loc))}: {msg}")
                )
            continue
        for i, case in enumerate(parsed.cases):
            cases.append((path, located.line_of(("cases", i)), case))
    return cases, errors


def _show(o: Outcome) -> str:
    ratio = f"{pct(o.bp)} ({o.bp}bp)" if o.bp is not None else f"count {o.count}"
    extra = " excluded" if o.excluded else ""
    merged = f" merged={o.merge_group}" if o.merge_group else ""
    return f"{ratio} k={o.k}{extra}{merged}"


def run_case(
    case: RuleCase, ruleset: RuleSet, evaluate: Callable[[StratumFact], Outcome]
) -> tuple[Outcome | None, list[str]]:
    """Evaluate one case: its outcome and the list of mismatches (empty when it passes)."""
    st = case.stratum
    item = ruleset.items.get(st.item)
    if item is None:
        return None, [f"unknown item {st.item!r}"]
    if st.risk_class not in ruleset.risk_classes:
        return None, [f"unknown risk class {st.risk_class!r}"]
    if (st.ratio is None) == (st.count is None):
        return None, ["give exactly one of ratio or count"]
    sid = f"{st.date.year}.{item.code}.{st.risk_class}.{st.region}"
    o = evaluate(
        StratumFact(
            sid,
            item,
            st.risk_class,
            st.region,
            st.n,
            st.ratio,
            st.count,
            st.date,
            tags=tuple(sorted(st.tags)),
        )
    )
    exp, bad = case.expect, []
    if exp.bp is not None and o.bp != exp.bp:
        bad.append(f"bp {o.bp} != {exp.bp}")
    if exp.k is not None and o.k != exp.k:
        bad.append(f"k {o.k} != {exp.k}")
    if exp.excluded is not None and (o.excluded is not None) != exp.excluded:
        bad.append(f"excluded {o.excluded is not None} != {exp.excluded}")
    if exp.merged is not None:
        want = None if exp.merged is False else exp.merged
        if o.merge_group != want:
            bad.append(f"merged {o.merge_group} != {want}")
    if exp.methods is not None and list(o.methods) != list(exp.methods):
        bad.append(f"methods {[m.value for m in o.methods]} != {[m.value for m in exp.methods]}")
    if exp.fired is not None and o.fired_names != exp.fired:
        bad.append(f"fired {o.fired_names} != {exp.fired}")
    if exp.batches is not None and o.batches != exp.batches:
        bad.append(f"batches {o.batches} != {exp.batches}")
    return o, bad


def run_cases(
    cases: list[tuple[str, int, RuleCase]],
    ruleset: RuleSet,
    evaluate: Callable[[StratumFact], Outcome],
) -> list[CaseResult]:
    """Run every case; the results in file order."""
    out = []
    for path, line, case in cases:
        outcome, bad = run_case(case, ruleset, evaluate)
        exp = case.expect
        expected = " ".join(
            f"{k}={v}"
            for k, v in exp.model_dump(mode="json", exclude_none=True).items()
            if k != "fired"
        )
        got = _show(outcome) if outcome is not None else "-"
        out.append(CaseResult(path, line, case.name, expected, got, tuple(bad)))
    return out
