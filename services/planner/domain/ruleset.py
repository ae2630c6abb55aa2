"""A rule set: the parsed, checked files of `rules/`, their version, and every error with its line.

`load_ruleset(files)` takes the files' bytes by relative path (reading the directory is the
caller's I/O) and returns a `RuleSet` or raises `RulesInvalid` carrying every error at once,
each naming file, line, rule and reason.

Version: hex SHA-256 over the files sorted by their relative POSIX path (UTF-8 byte order);
for each file the bytes ``path + "\\n" + str(len(content)) + "\\n" + content + "\\n"``.
Only rule files count (`*.yaml`/`*.yml` outside `tests/` and `plans/`): example cases and
sample plans do not change behaviour.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from contracts.holidays import HolidaySchedule
from contracts.rules import (
    EFFECT_KINDS,
    Item,
    Rule,
    RuleFile,
    RulesetMeta,
)
from services.kit.errors import Invalid
from services.planner.domain import checks
from services.planner.domain.checklists import check_checklists
from services.planner.domain.holidays import HOLIDAY_DIR, PlacedSchedule, check_holidays
from services.planner.domain.reasons_zh import shape_zh
from services.planner.domain.yamlpos import Located, YamlError, load


@dataclass(frozen=True)
class RuleError:
    """One reason a rule set is refused: `reason` in English (API, CLI, logs), `reason_zh` the
    same reason in Chinese, for policy staff (the console shows it)."""

    file: str
    line: int
    rule: str | None
    reason: str
    reason_zh: str = ""

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}"
        return f"{where}: [{self.rule}] {self.reason}" if self.rule else f"{where}: {self.reason}"

    def zh(self) -> str:
        """The error as `str()` gives it, with the Chinese reason (the English when none)."""
        where = f"{self.file}:{self.line}"
        why = self.reason_zh or self.reason
        return f"{where}: [{self.rule}] {why}" if self.rule else f"{where}: {why}"

    def as_dict(self) -> dict[str, str | int]:
        """The error as a JSON-able detail."""
        out: dict[str, str | int] = {"file": self.file, "line": self.line, "reason": self.reason}
        if self.rule:
            out["rule"] = self.rule
        if self.reason_zh:
            out["reason_zh"] = self.reason_zh
        return out


class RulesInvalid(Invalid):
    """A rule set failed its check; `errors` holds every reason."""

    def __init__(self, errors: list[RuleError]) -> None:
        super().__init__(
            f"rule set refused: {len(errors)} error(s); first: {errors[0]}",
            code="rules_invalid",
            details=[e.as_dict() for e in errors],
        )
        self.errors = errors


@dataclass(frozen=True)
class PlacedRule:
    """A rule with where it was written and where it sits in the application order."""

    rule: Rule
    file: str
    line: int
    order: int

    @property
    def stage(self) -> int:
        """Index of the effect kind in the fixed application order."""
        return EFFECT_KINDS.index(self.rule.then.kind)

    @property
    def label(self) -> str:
        """`id 中文名` as errors and explanations show it."""
        return f"{self.rule.id} {self.rule.name}"


@dataclass(frozen=True)
class RuleSet:
    """A checked rule set. `rules` are in application order (by effect stage, then file order)."""

    version: str
    meta: RulesetMeta
    items: Mapping[str, Item]
    rules: tuple[PlacedRule, ...]
    files: tuple[str, ...]
    holidays: tuple[HolidaySchedule, ...] = ()
    """The holiday schedules of `holidays/<year>.yaml`, by year."""

    @property
    def risk_classes(self) -> list[str]:
        """Configured risk-class codes, in file order."""
        return [c.code for c in self.meta.risk_classes]

    @property
    def departments(self) -> list[str]:
        """Configured department codes."""
        return [d.code for d in self.meta.departments]


NOT_RULES = ("tests", "plans")
"""Folders of a rule directory that hold no rules: example cases and sample plans."""


def is_rule_file(path: str) -> bool:
    """Whether a relative path is a rule file that counts for the version."""
    parts = path.split("/")
    return parts[-1].endswith((".yaml", ".yml")) and not set(NOT_RULES) & set(parts[:-1])


def version_of(files: Mapping[str, bytes]) -> str:
    """SHA-256 of the rule files in the layout of the module docstring."""
    digest = hashlib.sha256()
    for path in sorted((p for p in files if is_rule_file(p)), key=lambda p: p.encode("utf-8")):
        content = files[path]
        digest.update(path.encode("utf-8") + b"\n" + str(len(content)).encode("ascii") + b"\n")
        digest.update(content + b"\n")
    return digest.hexdigest()


def candidate_id_of(files: Mapping[str, bytes]) -> str:
    """SHA-256 of every file of a candidate set, its tests and notes too (`version_of` counts
    only the rule files): two uploads of the same folder are one candidate."""
    digest = hashlib.sha256()
    for path in sorted(files, key=lambda p: p.encode("utf-8")):
        content = files[path]
        digest.update(path.encode("utf-8") + b"\n" + str(len(content)).encode("ascii") + b"\n")
        digest.update(content + b"\n")
    return digest.hexdigest()


def _rule_label(data: Any, loc: tuple[Any, ...]) -> str | None:
    if loc and loc[0] == "holidays" and isinstance(data.get("holidays"), dict):
        section = data["holidays"]
        label = f"holidays {section.get('year', '?')}"
        breaks = section.get("breaks")
        if len(loc) >= 3 and loc[1] == "breaks" and isinstance(breaks, list):
            entry = breaks[loc[2]] if isinstance(loc[2], int) and loc[2] < len(breaks) else None
            if isinstance(entry, dict) and entry.get("name"):
                label += f" {entry['name']}"
        return label
    if len(loc) >= 2 and loc[0] in ("rules", "items") and isinstance(loc[1], int):
        try:
            entry = data[loc[0]][loc[1]]
        except (KeyError, IndexError, TypeError):
            return None
        if isinstance(entry, dict):
            code = entry.get("id", entry.get("code"))
            name = entry.get("name")
            label = " ".join(str(x) for x in (code, name) if x is not None)
            return label or f"{loc[0]}[{loc[1]}]"
    return None


def _shape_errors(path: str, located: Located, exc: ValidationError) -> list[RuleError]:
    out = []
    for err in exc.errors():
        loc = tuple(err["loc"])
        msg = str(err["msg"]).removeprefix("Value error, ")
        field = ".".join(str(p) for p in loc) or "(file)"
        line = located.line_of(tuple(p for p in loc if isinstance(p, str | int)))
        label = _rule_label(located.data, loc)
        out.append(RuleError(path, line, label, f"{field}: {msg}", shape_zh(err)))
    return out


def parse_files(
    files: Mapping[str, bytes],
) -> tuple[list[tuple[str, Located, RuleFile]], list[RuleError]]:
    """Parse every rule file: the ones that parsed, and the errors of the others."""
    parsed: list[tuple[str, Located, RuleFile]] = []
    errors: list[RuleError] = []
    for path in sorted((p for p in files if is_rule_file(p)), key=lambda p: p.encode("utf-8")):
        try:
            text = files[path].decode("utf-8")
        except UnicodeDecodeError as exc:
            errors.append(
                RuleError(
                    path,
                    1,
                    None,
                    f"not UTF-8 text: {exc.reason}",
                    f"不是 UTF-8 编码的文本（第 {exc.start + 1} 个字节起无法解码）：请另存为 UTF-8",
                )
            )
            continue
        try:
            located = load(text)
        except YamlError as exc:
            errors.append(RuleError(path, exc.line, None, exc.message, exc.message_zh))
            continue
        if not isinstance(located.data, dict):
            errors.append(
                RuleError(
                    path,
                    1,
                    None,
                    "a rule file is a mapping of sections",
                    "规则文件应由若干节组成（ruleset:、items:、rules: 等“字段: 值”的映射）",
                )
            )
            continue
        try:
            parsed.append((path, located, RuleFile.model_validate(located.data)))
        except ValidationError as exc:
            errors.extend(_shape_errors(path, located, exc))
    return parsed, errors


def check_files(files: Mapping[str, bytes]) -> tuple[RuleSet | None, list[RuleError]]:
    """Schema and meaning of a rule set: the rule set if it is sound, and every error."""
    if not any(is_rule_file(p) for p in files):
        return None, [
            RuleError(
                "(rule set)",
                0,
                None,
                "no rule files (*.yaml) found",
                "没有找到规则文件（*.yaml）",
            )
        ]
    parsed, errors = parse_files(files)
    metas = [(p, loc, f.ruleset) for p, loc, f in parsed if f.ruleset is not None]
    if not metas and not errors:
        errors.append(
            RuleError(
                "(rule set)",
                0,
                None,
                "no file has a `ruleset:` section",
                "没有一个文件含有 ruleset: 一节（规则集的名称、部门和风险分类）",
            )
        )
    for path, loc, _ in metas[1:]:
        errors.append(
            RuleError(
                path,
                loc.line_of(("ruleset",)),
                None,
                f"second `ruleset:` section (the first is in {metas[0][0]})",
                f"第二个 ruleset: 一节（第一个在 {metas[0][0]}）：一个规则集只能有一个",
            )
        )
    if not metas:
        return None, errors
    meta = metas[0][2]
    assert meta is not None
    items: dict[str, Item] = {}
    placed: list[PlacedRule] = []
    item_lines: list[tuple[str, int, Item]] = []
    for path, located, rule_file in parsed:
        for i, item in enumerate(rule_file.items):
            item_lines.append((path, located.line_of(("items", i)), item))
            items.setdefault(item.code, item)
        errors.extend(RuleError(*p) for p in check_checklists(path, located, rule_file.items))
        for i, rule in enumerate(rule_file.rules):
            placed.append(PlacedRule(rule, path, located.line_of(("rules", i)), len(placed)))
    schedules = _schedules(parsed)
    errors.extend(
        RuleError(f, line, label, reason, reason_zh)
        for f, line, label, reason, reason_zh in [
            *checks.check_meaning(meta, item_lines, placed, items),
            *check_holidays(schedules),
        ]
    )
    if errors:
        return None, errors
    ordered = tuple(sorted(placed, key=lambda r: (r.stage, r.order)))
    version = version_of(files)
    files_used = tuple(sorted((p for p in files if is_rule_file(p)), key=lambda p: p.encode()))
    holidays = tuple(sorted((p.schedule for p in schedules), key=lambda h: h.year))
    return RuleSet(version, meta, items, ordered, files_used, holidays), []


def _schedules(parsed: list[tuple[str, Located, RuleFile]]) -> list[PlacedSchedule]:
    return [PlacedSchedule(f.holidays, p, loc) for p, loc, f in parsed if f.holidays is not None]


def holiday_schedules(
    files: Mapping[str, bytes],
) -> tuple[tuple[HolidaySchedule, ...], list[RuleError]]:
    """Only the holiday files of a rule directory (`holidays/*.yaml`), checked: the schedules
    by year, or every error (what `spotcheck publisher due-date` counts with, offline)."""
    mine = {p: b for p, b in files.items() if p.startswith(HOLIDAY_DIR + "/")}
    parsed, errors = parse_files(mine)
    schedules = _schedules(parsed)
    errors.extend(RuleError(*problem) for problem in check_holidays(schedules))
    if errors:
        return (), errors
    return tuple(sorted((p.schedule for p in schedules), key=lambda h: h.year)), []


def load_ruleset(files: Mapping[str, bytes]) -> RuleSet:
    """A checked rule set, or `RulesInvalid` with every error."""
    ruleset, errors = check_files(files)
    if ruleset is None:
        raise RulesInvalid(errors)
    return ruleset
