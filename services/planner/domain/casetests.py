"""`rules/tests/*.yaml`: example strata and what the rules must make of them."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from pydantic import ValidationError

from contracts.rules import RuleCase, RuleCaseFile
from services.planner.domain.checks import pct
from services.planner.domain.engine import Outcome, StratumFact
from services.planner.domain.reasons_zh import shape_zh
from services.planner.domain.ruleset import RuleError, RuleSet
from services.planner.domain.yamlpos import YamlError, load


@dataclass(frozen=True)
class CaseResult:
    """One case: where it is written, what was expected, what came out; each failure in
    English (`failures`) and, at the same index, in Chinese (`failures_zh`)."""

    file: str
    line: int
    name: str
    expected: str
    got: str
    failures: tuple[str, ...]
    failures_zh: tuple[str, ...] = ()

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
        except YamlError as exc:
            errors.append(RuleError(path, exc.line, None, str(exc), exc.message_zh))
            continue
        except UnicodeDecodeError as exc:
            errors.append(
                RuleError(path, 1, None, str(exc), "不是 UTF-8 编码的文本：请另存为 UTF-8")
            )
            continue
        try:
            parsed = RuleCaseFile.model_validate(located.data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(p for p in err["loc"] if isinstance(p, str | int))
                msg = str(err["msg"]).removeprefix("Value error, ")
                errors.append(
                    RuleError(
                        path,
                        located.line_of(loc),
                        None,
                        f"{'.'.join(map(str, loc))}: {msg}",
                        shape_zh({**err, "loc": loc}),
                    )
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


def _yes(flag: object) -> str:
    return "是" if flag else "否"


def run_case(
    case: RuleCase, ruleset: RuleSet, evaluate: Callable[[StratumFact], Outcome]
) -> tuple[Outcome | None, list[tuple[str, str]]]:
    """Evaluate one case: its outcome and the list of mismatches (empty when it passes),
    each in English and in Chinese."""
    st = case.stratum
    item = ruleset.items.get(st.item)
    if item is None:
        return None, [(f"unknown item {st.item!r}", f"抽查事项 {st.item} 不在检查事项清单中")]
    if st.risk_class not in ruleset.risk_classes:
        return None, [
            (
                f"unknown risk class {st.risk_class!r}",
                f"风险分类 {st.risk_class} 未配置（已配置：{'、'.join(ruleset.risk_classes)}）",
            )
        ]
    if (st.ratio is None) == (st.count is None):
        return None, [
            (
                "give exactly one of ratio or count",
                "抽查比例 ratio 和抽取户数 count 须填写且只填写一项",
            )
        ]
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
        got_pct = pct(o.bp) if o.bp is not None else "无"
        bad.append(
            (
                f"bp {o.bp} != {exp.bp}",
                f"抽查比例 bp 为 {o.bp}（{got_pct}），期望 {exp.bp}（{pct(exp.bp)}）",
            )
        )
    if exp.k is not None and o.k != exp.k:
        bad.append((f"k {o.k} != {exp.k}", f"抽取户数 k 为 {o.k}，期望 {exp.k}"))
    if exp.excluded is not None and (o.excluded is not None) != exp.excluded:
        bad.append(
            (
                f"excluded {o.excluded is not None} != {exp.excluded}",
                f"是否不抽取（excluded）为{_yes(o.excluded is not None)}，期望{_yes(exp.excluded)}",
            )
        )
    if exp.merged is not None:
        want = None if exp.merged is False else exp.merged
        if o.merge_group != want:
            bad.append(
                (
                    f"merged {o.merge_group} != {want}",
                    f"联合抽查组 merged 为 {o.merge_group or '无'}，期望 {want or '无'}",
                )
            )
    if exp.methods is not None and list(o.methods) != list(exp.methods):
        got_m, want_m = [m.value for m in o.methods], [m.value for m in exp.methods]
        bad.append(
            (
                f"methods {got_m} != {want_m}",
                f"检查方式 methods 为 {'、'.join(got_m) or '无'}，期望 {'、'.join(want_m) or '无'}",
            )
        )
    if exp.fired is not None and o.fired_names != exp.fired:
        bad.append(
            (
                f"fired {o.fired_names} != {exp.fired}",
                f"起作用的规则 fired 为 {'、'.join(o.fired_names) or '无'}，"
                f"期望 {'、'.join(exp.fired) or '无'}",
            )
        )
    if exp.batches is not None and o.batches != exp.batches:
        bad.append(
            (
                f"batches {o.batches} != {exp.batches}",
                f"检查批次数 batches 为 {o.batches}，期望 {exp.batches}",
            )
        )
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
        out.append(
            CaseResult(
                path,
                line,
                case.name,
                expected,
                got,
                tuple(en for en, _ in bad),
                tuple(zh for _, zh in bad),
            )
        )
    return out
