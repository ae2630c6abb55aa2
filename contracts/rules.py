"""Rule files (policy staff's YAML in `rules/`): the models and their JSON Schema source.

A rule set is a directory of YAML files. Every file has the same shape (`RuleFile`) and any of
its sections; the planner merges the sections of all files. Exactly one file holds `ruleset`
(departments, risk classes, defaults); each `holidays/<year>.yaml` holds one year's holiday
schedule (`contracts.holidays`). Ratios are written as percentages in strings ("5%",
"0.5%") or basis points ("50bp") and read exactly as integer basis points: never floats.

The models check shape only; meaning (unknown items, contradictions, overlapping dates) is the
planner's semantic check, which also knows the file and line of every value.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, WithJsonSchema, model_validator

from contracts.base import Contract
from contracts.holidays import HolidaySchedule

CODE_PATTERN = r"^[A-Za-z0-9._:-]+$"
"""Item, department, rule and class codes: ASCII, safe inside stratum ids (DESIGN §6)."""


class RuleValueError(ValueError):
    """A value a rule-file validator refuses, said in English (the message) and in Chinese
    (`zh`): pydantic keeps the exception in the error's `ctx`, and the planner's check gives
    `zh` to policy staff in the console."""

    def __init__(self, message: str, zh: str) -> None:
        super().__init__(message)
        self.zh = zh


_PERCENT = re.compile(r"^\s*(\d{1,3})(?:\.(\d{1,2}))?\s*%\s*$")
_BP = re.compile(r"^\s*(\d{1,5})\s*bp\s*$")
_FACTOR = re.compile(r"^\s*(\d{1,4})(?:\.(\d{1,4}))?\s*$")


def parse_ratio(value: object) -> int:
    """Read a ratio written in a rule file or plan as integer basis points, exactly.

    "5%" → 500, "0.5%" → 50, "12.25%" → 1225, "50bp" → 50. Numbers (YAML floats or ints)
    are refused on purpose: `0.05` is ambiguous and floats are inexact.
    """
    if isinstance(value, bool) or not isinstance(value, str):
        raise RuleValueError(
            f'a ratio must be written as a percentage string like "5%", got {value!r}',
            f'抽查比例须写成带引号的百分数，如 "5%"，而不是 {value!r}',
        )
    match = _PERCENT.match(value)
    if match:
        whole, frac = match.group(1), (match.group(2) or "")
        return int(whole) * 100 + int(frac.ljust(2, "0"))
    match = _BP.match(value)
    if match:
        return int(match.group(1))
    if _FACTOR.match(value):
        raise RuleValueError(
            f'a ratio must have a unit: write "5%" or "50bp", not {value}',
            f'抽查比例须带单位：写 "5%" 或 "50bp"，不能只写 {value}',
        )
    raise RuleValueError(
        f'a ratio must look like "5%", "0.5%" or "50bp", got {value!r}',
        f'抽查比例应写成 "5%"、"0.5%" 或 "50bp" 这样的形式，而不是 {value!r}',
    )


def parse_factor(value: object) -> tuple[int, int]:
    """Read a multiplier ("15", "0.5", 2) as an exact fraction (numerator, denominator)."""
    if isinstance(value, bool):
        raise RuleValueError(
            f"a factor must be a decimal number, got {value!r}",
            f"倍数须是十进制数，而不是 {value!r}",
        )
    text = str(value) if isinstance(value, int) else value
    if not isinstance(text, str):
        raise RuleValueError(
            f"a factor must be a decimal number, got {value!r}",
            f"倍数须是十进制数，而不是 {value!r}",
        )
    match = _FACTOR.match(text)
    if not match:
        raise RuleValueError(
            f'a factor must be a decimal like "0.5" or "15", got {value!r}',
            f'倍数应写成 "0.5" 或 "15" 这样的十进制数，而不是 {value!r}',
        )
    whole, frac = match.group(1), (match.group(2) or "")
    den = 10 ** len(frac)
    return int(whole) * den + (int(frac) if frac else 0), den


def _factor(value: object) -> str:
    num, den = parse_factor(value)
    return f"{num}/{den}"


Ratio = Annotated[
    int,
    BeforeValidator(parse_ratio),
    WithJsonSchema({"type": "string", "pattern": r"^\d{1,3}(\.\d{1,2})?%$|^\d{1,5}bp$"}),
]
"""A ratio in basis points, read from "5%" / "50bp"."""

Factor = Annotated[
    str,
    BeforeValidator(_factor),
    WithJsonSchema({"type": ["string", "integer"], "pattern": r"^\d{1,4}(\.\d{1,4})?$"}),
]
"""An exact multiplier kept as "num/den"."""

Code = Annotated[str, Field(pattern=CODE_PATTERN, max_length=64)]

KeyLabel = Annotated[str, Field(min_length=1, max_length=64)]
"""A key-supervision label (重点监管领域) as the entity directory writes it, e.g. 食品生产."""


def _key_supervision(value: object) -> object:
    # One label may be written bare; `false` (the old boolean) means "not key supervision".
    if value is None or value is False:
        return []
    if isinstance(value, str):
        return [value]
    return value


KeySupervision = Annotated[
    Literal[True] | list[KeyLabel],
    BeforeValidator(_key_supervision),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": 1, "maxLength": 64},
                {
                    "type": "array",
                    "items": {"type": "string", "minLength": 1, "maxLength": 64},
                },
                {"type": "boolean"},
            ],
            "description": "重点监管领域标签：名录库“重点监管”字段带其中之一的主体不参加该事项的"
            "随机抽取（其他事项照常）。写一个标签或标签列表；旧写法 true 表示带任何重点监管标签的"
            "主体都不参加该事项的抽取，false 表示不是重点监管事项。",
        }
    ),
]
"""Which key-supervision labels make an item a key-supervision item, and keep entities
carrying them out of its random draw: a list of labels ([] = not key supervision), or `True`,
the old boolean, read as "every label" (its list was never named)."""


class ItemKind(StrEnum):
    """一般检查事项 (capped ratio) / 重点检查事项 (no cap)."""

    GENERAL = "general"
    PRIORITY = "priority"


class Method(StrEnum):
    """How a check is done (实地核查、书面检查、网络监测、委托检验检测/审计)."""

    ON_SITE = "on_site"
    DOCUMENTS = "documents"
    ONLINE = "online"
    COMMISSIONED = "commissioned"


class Department(Contract):
    """A department taking part in the rule set (市场监管、税务、生态环境…)."""

    code: Code
    name: str = Field(min_length=1)


class RiskClass(Contract):
    """A configured credit-risk class (A–D by default; A–E in some provinces)."""

    code: Code
    name: str = Field(min_length=1)


class Frequency(Contract):
    """At most `times` checks of one entity per item per department within `months`."""

    times: int = Field(ge=1, le=12)
    months: int = Field(ge=1, le=60)


class Defaults(Contract):
    """Values a stratum starts from before any rule fires."""

    frequency: Frequency = Frequency(times=1, months=12)


class RulesetMeta(Contract):
    """The `ruleset` section: name, source, departments, risk classes, defaults."""

    name: str = Field(min_length=1)
    source: str = ""
    departments: list[Department] = Field(min_length=1)
    risk_classes: list[RiskClass] = Field(min_length=1)
    defaults: Defaults = Defaults()


class AppliesTo(Contract):
    """Which entities an item applies to. Empty lists mean no restriction."""

    entity_types: list[str] = []
    industries: list[Annotated[str, Field(pattern=r"^[A-Z](\d{1,4})?$")]] = []
    tags: list[str] = []


def _expects(value: object) -> object:
    # YAML 1.1 reads a bare `yes`/`no` as a boolean: take it as the word the author wrote.
    if value is True:
        return "yes"
    if value is False:
        return "no"
    return value


def _text(reason: str, zh: str) -> Any:
    """A text field that must say something: blank text is refused with `reason` (`zh`)."""

    def check(value: object) -> object:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise RuleValueError(reason, zh)
        return value

    return BeforeValidator(check)


class ExpectedAnswer(StrEnum):
    """Which answer to a checklist question is the compliant one (是 / 否)."""

    YES = "yes"
    NO = "no"


QuestionId = Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$", max_length=16)]
"""A question's short code, unique within its item (Q1, Q2, …): results may name it."""


class ChecklistQuestion(Contract):
    """One question of an item's checklist (检查表): what the inspector answers on site.

    The inspector answers 是 / 否 / 不适用 with a note; `expects` says which answer is
    compliant (`no` for questions like 是否存在虚假公示的情形).
    """

    id: QuestionId
    question: Annotated[
        str,
        _text(
            "the question is empty: write what the inspector answers (是/否/不适用)",
            "检查内容为空：请写出检查人员现场回答“是/否/不适用”的问题",
        ),
        WithJsonSchema({"type": "string", "minLength": 1, "pattern": r"\S"}),
    ] = Field(description="检查内容：现场回答“是/否/不适用”的问题，如 年度报告是否按时公示")
    basis: (
        Annotated[
            str,
            _text(
                "basis is empty: name the clause, or leave basis out",
                "法律依据为空：请写明条款，或删去 basis",
            ),
            WithJsonSchema({"type": "string", "minLength": 1, "pattern": r"\S"}),
        ]
        | None
    ) = Field(default=None, description="法律依据条款，如 《企业信息公示暂行条例》第八条")
    expects: Annotated[
        ExpectedAnswer,
        BeforeValidator(_expects),
        WithJsonSchema(
            {
                "enum": ["yes", "no", True, False],
                "default": "yes",
                "description": "合规的回答：yes（是，默认）或 no（否）；YAML 把不加引号的"
                " yes/no 读作 true/false，两种写法都可以。",
            }
        ),
    ] = ExpectedAnswer.YES


class Item(Contract):
    """One entry of the item catalogue (检查事项清单)."""

    code: Code
    name: str = Field(min_length=1)
    department: Code
    kind: ItemKind
    key_supervision: KeySupervision = []
    """The key-supervision list (重点监管) the item belongs to, by the entity labels it covers:
    an entity labelled with one of them leaves this item's base, and stays in every other
    item's (the notice: 清单内事项重点监管，清单外事项全面双随机)."""
    legal_basis: str = Field(min_length=1)
    methods: list[Method] = Field(min_length=1)
    applies_to: AppliesTo = AppliesTo()
    expertise: list[str] = []
    checklist: list[ChecklistQuestion] = []
    """The questions the inspector answers on site (检查表), in the order they are asked;
    ids unique within the item (the planner's check names a repeated one)."""
    catalogue_code: Code | None = None
    """The item's 事项编码 in the province's 互联网+监管 catalogue, when `code` is another: a
    catalogue import matches the exported item to this one by it (docs/rules.md §10)."""


class Effective(Contract):
    """Effective dates, both inclusive; `to` empty means open-ended."""

    from_: date = Field(alias="from")
    to: date | None = None

    model_config = {"extra": "forbid", "frozen": True, "populate_by_name": True}


OneOrMany = Annotated[list[str], BeforeValidator(lambda v: [v] if isinstance(v, str) else v)]


class Condition(Contract):
    """When a rule applies to a stratum. All given fields must match; a list means any of."""

    item: OneOrMany | None = None
    item_kind: ItemKind | None = None
    department: OneOrMany | None = None
    key_supervision: bool | None = None
    """true: items that name a key-supervision list (`Item.key_supervision`); false: others."""
    risk_class: OneOrMany | None = None
    region: (
        Annotated[
            list[Annotated[str, Field(pattern=r"^\d{2,6}$")]],
            BeforeValidator(lambda v: [v] if isinstance(v, str | int) else v),
        ]
        | None
    ) = None
    n_at_least: int | None = Field(default=None, ge=0)
    tag: (
        Annotated[
            list[Annotated[str, Field(min_length=1, max_length=64)]],
            BeforeValidator(lambda v: [v] if isinstance(v, str) else v),
            Field(min_length=1),
        ]
        | None
    ) = None
    """Strata whose entities all carry one of these tags (e.g. 食品经营): the stratum's tag
    restriction (plan scope narrowed by the item's `applies_to.tags`) is set and within them."""


class Merge(Contract):
    """Joint inspection: strata of these departments with the same scope become one visit."""

    group: Code
    lead: Code


class Batch(Contract):
    """A large draw is split into batches of at most `size` entities, in random order."""

    size: int = Field(ge=1)


EFFECT_KINDS = (
    "set_ratio",
    "multiply_ratio",
    "floor_ratio",
    "cap_ratio",
    "exclude",
    "require_method",
    "forbid_method",
    "set_frequency",
    "batch",
    "merge",
)
"""The fixed vocabulary of effects, in the order they are applied to a stratum."""


class Effect(Contract):
    """What a rule does: exactly one of the fields."""

    set_ratio: Ratio | None = None
    multiply_ratio: Factor | None = None
    floor_ratio: Ratio | None = None
    cap_ratio: Ratio | None = None
    exclude: str | None = Field(default=None, min_length=1)
    require_method: Method | None = None
    forbid_method: Method | None = None
    set_frequency: Frequency | None = None
    batch: Batch | None = None
    merge: Merge | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Effect:
        given = [k for k in EFFECT_KINDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise RuleValueError(
                f"an effect has exactly one of {', '.join(EFFECT_KINDS)}; got {given or 'none'}",
                f"一条规则的效果（then）须有且只有以下一项：{'、'.join(EFFECT_KINDS)}；"
                f"现在{'有 ' + '、'.join(given) if given else '一项也没有'}",
            )
        return self

    @property
    def kind(self) -> str:
        """The vocabulary word of this effect."""
        return next(k for k in EFFECT_KINDS if getattr(self, k) is not None)

    @property
    def value(self) -> Any:
        """The effect's argument."""
        return getattr(self, self.kind)


class Rule(Contract):
    """One policy rule: a Chinese name, effective dates, a condition and an effect."""

    id: Code
    name: str = Field(min_length=1, description="中文名称，出现在每一条解释里")
    effective: Effective
    when: Condition = Condition()
    then: Effect
    note: str = ""


class RuleFile(Contract):
    """One YAML file of a rule set."""

    ruleset: RulesetMeta | None = None
    items: list[Item] = []
    rules: list[Rule] = []
    holidays: HolidaySchedule | None = None
    """A year's holiday schedule (only in `holidays/<year>.yaml`; see `contracts.holidays`)."""


# ---- rules/tests/*.yaml ---------------------------------------------------------------------


class CaseStratum(Contract):
    """The stratum a test case evaluates."""

    item: Code
    risk_class: Code
    region: str = Field(default="360202", pattern=r"^\d{6}$")
    n: int = Field(ge=0)
    ratio: Ratio | None = None
    count: int | None = Field(default=None, ge=0)
    date: date
    tags: list[str] = []
    """The stratum's tag restriction (entities carrying any of these)."""


class CaseExpect(Contract):
    """What the stratum must resolve to; fields left out are not compared."""

    bp: int | None = None
    k: int | None = None
    excluded: bool | None = None
    merged: str | bool | None = None
    methods: list[Method] | None = None
    fired: list[str] | None = None
    batches: int | None = None


class RuleCase(Contract):
    """One example case of `rules/tests/`."""

    name: str = Field(min_length=1)
    stratum: CaseStratum
    expect: CaseExpect


class RuleCaseFile(Contract):
    """A file of `rules/tests/`."""

    cases: list[RuleCase] = Field(min_length=1)


def rule_file_json_schema() -> dict[str, Any]:
    """JSON Schema of a rule file, for editors and other agencies' tooling."""
    return RuleFile.model_json_schema(by_alias=True)
