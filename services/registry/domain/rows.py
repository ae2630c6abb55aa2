"""Validation of entity and inspector rows (检查对象名录库 / 执法检查人员名录库).

A row arrives as a sequence of raw values in the order of `ENTITY_FIELDS` / `INSPECTOR_FIELDS`
(strings from CSV; strings, lists, booleans or numbers from JSON Lines). Validation returns
either the clean record, as a tuple in the same field order ready for COPY, or every problem
found, each naming the field and the reason in Chinese and English. Nothing raises: a million
bad rows must cost no more than a million good ones.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Final

from services.registry.domain import uscc as uscc_mod
from services.registry.domain.codes import canonical_industry, regions
from services.registry.domain.vocabulary import (
    DEFAULT_ENTITY_TYPES,
    DEFAULT_EXPERTISE,
    DEFAULT_RISK_CLASSES,
    DEFAULT_STATUSES,
    HEADER_ALIASES,
    INSPECTOR_STATUSES,
    RECUSAL_RELATIONS,
    Vocabulary,
)

_RELATION_WORDS: Final = {
    word: code
    for code, (label, words) in RECUSAL_RELATIONS.items()
    for word in (code, label, *words)
}

ENTITY_FIELDS: Final = (
    "uscc",
    "name",
    "entity_type",
    "region_code",
    "industry_code",
    "status",
    "abnormal",
    "risk_class",
    "risk_class_date",
    "tags",
    "key_supervision",
    "address",
    "established",
)
ENTITY_REQUIRED: Final = frozenset({"uscc", "name", "entity_type", "region_code", "industry_code"})

INSPECTOR_FIELDS: Final = (
    "inspector_id",
    "name",
    "department",
    "region_codes",
    "certificate_no",
    "certificate_expiry",
    "expertise",
    "status",
    "capacity",
    "recusal_usccs",
)
# What is stored per inspector: the fields read from files, then, per recused USCC, the code of
# its relation (RECUSAL_RELATIONS), in the same order as recusal_usccs.
INSPECTOR_COLUMNS: Final = (*INSPECTOR_FIELDS, "recusal_relations")
INSPECTOR_REQUIRED: Final = frozenset(
    {"inspector_id", "name", "department", "region_codes", "certificate_no", "certificate_expiry"}
)

_TRUE: Final = frozenset({"1", "true", "t", "yes", "y", "是", "在册", "列入"})
_FALSE: Final = frozenset({"", "0", "false", "f", "no", "n", "否", "未列入"})
_SPLIT: Final = re.compile(r"[;；|]")
_INSPECTOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
_DATE: Final = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_NAME: Final = 200
MAX_ADDRESS: Final = 300
MAX_LABEL: Final = 32


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field of a row."""

    field: str
    zh: str
    en: str

    def as_dict(self) -> dict[str, str]:
        """JSON form for rejects files and error bodies."""
        return {"field": self.field, "reason_zh": self.zh, "reason_en": self.en}


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, str):
        return v.strip()
    return str(v).strip()


def _list(v: Any) -> list[str]:
    if v is None:
        return []
    items = [_text(x) for x in v] if isinstance(v, list) else _SPLIT.split(_text(v))
    out: list[str] = []
    for x in items:
        if x and x not in out:
            out.append(x)
    return out


def _date(v: Any, name: str, errors: list[FieldError]) -> date | None:
    s = v.strip() if v.__class__ is str else _text(v)
    if not s:
        return None
    if len(s) == 10 and s[4] == "-" and s[7] == "-" and s[:4].isdigit():
        try:
            d = date.fromisoformat(s)
        except ValueError:
            pass
        else:
            if d.year >= 1900:
                return d
    errors.append(
        FieldError(
            name, f"日期“{s}”无效，应为YYYY-MM-DD", f"invalid date {s!r}, expected YYYY-MM-DD"
        )
    )
    return None


def _bool(v: Any, name: str, errors: list[FieldError]) -> bool:
    if isinstance(v, bool):
        return v
    s = _text(v).lower()
    if s in _FALSE:
        return False
    if s in _TRUE:
        return True
    errors.append(FieldError(name, f"“{s}”不是是/否值", f"{s!r} is not a yes/no value"))
    return False


def _labels(v: Any, name: str, errors: list[FieldError]) -> list[str]:
    items = _list(v)
    for x in items:
        if len(x) > MAX_LABEL:
            errors.append(
                FieldError(
                    name,
                    f"标签“{x[:20]}…”超过{MAX_LABEL}个字符",
                    f"label {x[:20]!r}… is longer than {MAX_LABEL} characters",
                )
            )
    return items


def canonical_labels(raw: str) -> bool:
    """Whether `raw` is a label list exactly as the validator stores it: labels joined by ";",
    each trimmed, none empty, repeated or too long."""
    errors: list[FieldError] = []
    items = _labels(raw, "tags", errors)
    return not errors and ";".join(items) == raw


def _missing(name: str) -> FieldError:
    return FieldError(name, "必填项为空", "required field is empty")


def _one_of(name: str, value: str, allowed: frozenset[str]) -> FieldError:
    shown = "、".join(sorted(allowed))
    return FieldError(
        name,
        f"“{value}”不在允许值中（{shown}）",
        f"{value!r} is not one of: {', '.join(sorted(allowed))}",
    )


def validate_uscc_field(name: str, raw: Any, errors: list[FieldError]) -> str:
    """Normalise and check one USCC; append a FieldError naming `name` when it is bad."""
    code = uscc_mod.normalise(_text(raw))
    if not code:
        errors.append(_missing(name))
        return code
    why = uscc_mod.problem(code)
    if why is not None:
        errors.append(
            FieldError(name, f"统一社会信用代码“{code}”无效：{why[0]}", f"USCC {code!r}: {why[1]}")
        )
    return code


def validate_entity(
    values: Sequence[Any], vocab: Vocabulary
) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
    """Check one entity row given in `ENTITY_FIELDS` order.

    Returns (record, []) with the record in `ENTITY_FIELDS` order — text, bool, date and list
    values — or (None, errors). Written flat, with strings (CSV) handled inline, because it
    runs five million times per provincial import.
    """
    errors: list[FieldError] = []
    (
        raw_code,
        raw_name,
        raw_type,
        raw_region,
        raw_industry,
        raw_status,
        raw_abnormal,
        raw_class,
        raw_class_date,
        raw_tags,
        raw_key,
        raw_address,
        raw_established,
    ) = values
    code = raw_code.strip().upper() if raw_code.__class__ is str else _text(raw_code).upper()
    if not code:
        errors.append(_missing("uscc"))
    else:
        why = uscc_mod.problem(code)
        if why is not None:
            errors.append(
                FieldError(
                    "uscc", f"统一社会信用代码“{code}”无效：{why[0]}", f"USCC {code!r}: {why[1]}"
                )
            )
    name = raw_name.strip() if raw_name.__class__ is str else _text(raw_name)
    if not name:
        errors.append(_missing("name"))
    elif len(name) > MAX_NAME:
        errors.append(
            FieldError("name", f"名称超过{MAX_NAME}个字符", f"name longer than {MAX_NAME}")
        )
    etype = raw_type.strip() if raw_type.__class__ is str else _text(raw_type)
    if etype not in vocab.entity_types:
        errors.append(
            _missing("entity_type")
            if not etype
            else _one_of("entity_type", etype, vocab.entity_types)
        )
    region = raw_region.strip() if raw_region.__class__ is str else _text(raw_region)
    table = regions()
    if region not in table.by_code:
        if not region:
            errors.append(_missing("region_code"))
        else:
            errors.append(
                FieldError(
                    "region_code",
                    f"区划代码“{region}”不在GB/T 2260（{table.edition}年版）中",
                    f"region code {region!r} is not in GB/T 2260 ({table.edition})",
                )
            )
    raw_ind = raw_industry.strip() if raw_industry.__class__ is str else _text(raw_industry)
    industry = canonical_industry(raw_ind) if raw_ind else None
    if industry is None:
        if not raw_ind:
            errors.append(_missing("industry_code"))
        else:
            errors.append(
                FieldError(
                    "industry_code",
                    f"行业代码“{raw_ind}”不在GB/T 4754-2017中",
                    f"industry code {raw_ind!r} is not in GB/T 4754-2017",
                )
            )
    status = (raw_status.strip() if raw_status.__class__ is str else _text(raw_status)) or "存续"
    if status not in vocab.statuses:
        errors.append(_one_of("status", status, vocab.statuses))
    if raw_abnormal.__class__ is str and raw_abnormal in ("0", ""):
        abnormal = False
    else:
        abnormal = _bool(raw_abnormal, "abnormal", errors)
    risk_class = (
        raw_class.strip() if raw_class.__class__ is str else _text(raw_class)
    ).upper() or None
    if risk_class is not None and risk_class not in vocab.risk_classes:
        errors.append(_one_of("risk_class", risk_class, vocab.risk_classes))
    risk_date = _date(raw_class_date, "risk_class_date", errors)
    if risk_class is not None and risk_date is None and not _text(raw_class_date):
        errors.append(
            FieldError(
                "risk_class_date", "有风险分类时必须填写分类日期", "a risk class needs its date"
            )
        )
    tags = [] if raw_tags == "" or raw_tags is None else _labels(raw_tags, "tags", errors)
    key_supervision = (
        [] if raw_key == "" or raw_key is None else _labels(raw_key, "key_supervision", errors)
    )
    address = raw_address.strip() if raw_address.__class__ is str else _text(raw_address)
    if len(address) > MAX_ADDRESS:
        errors.append(
            FieldError(
                "address", f"地址超过{MAX_ADDRESS}个字符", f"address longer than {MAX_ADDRESS}"
            )
        )
    established = None if raw_established == "" else _date(raw_established, "established", errors)
    if errors:
        return None, errors
    return (
        code,
        name,
        etype,
        region,
        industry,
        status,
        abnormal,
        risk_class,
        risk_date,
        tags,
        key_supervision,
        address,
        established,
    ), errors


def validate_inspector(
    values: Sequence[Any], vocab: Vocabulary
) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
    """Check one inspector row given in `INSPECTOR_FIELDS` order (see `validate_entity`)."""
    errors: list[FieldError] = []
    iid = _text(values[0])
    if not iid:
        errors.append(_missing("inspector_id"))
    elif not _INSPECTOR_ID.match(iid):
        errors.append(
            FieldError(
                "inspector_id",
                f"工号“{iid}”只能含字母、数字、-和_，最长32位",
                f"inspector id {iid!r} may hold only letters, digits, - and _ (max 32)",
            )
        )
    name = _text(values[1])
    if not name:
        errors.append(_missing("name"))
    department = _text(values[2])
    if not department:
        errors.append(_missing("department"))
    region_codes = _list(values[3])
    if not region_codes:
        errors.append(_missing("region_codes"))
    table = regions()
    for r in region_codes:
        if r not in table:
            errors.append(
                FieldError(
                    "region_codes",
                    f"区划代码“{r}”不在GB/T 2260（{table.edition}年版）中",
                    f"region code {r!r} is not in GB/T 2260 ({table.edition})",
                )
            )
    cert = _text(values[4])
    if not cert:
        errors.append(_missing("certificate_no"))
    expiry = _date(values[5], "certificate_expiry", errors)
    if expiry is None and not _text(values[5]):
        errors.append(_missing("certificate_expiry"))
    expertise = _list(values[6])
    for x in expertise:
        if x not in vocab.expertise:
            errors.append(_one_of("expertise", x, vocab.expertise))
    raw_status = _text(values[7]) or "active"
    status = INSPECTOR_STATUSES.get(raw_status.lower())
    if status is None:
        errors.append(_one_of("status", raw_status, frozenset(INSPECTOR_STATUSES)))
    raw_capacity = _text(values[8])
    capacity = 50
    if raw_capacity:
        if raw_capacity.isdigit() and len(raw_capacity) <= 6:
            capacity = int(raw_capacity)
        else:
            errors.append(
                FieldError(
                    "capacity",
                    f"承载量“{raw_capacity}”应为非负整数",
                    f"capacity {raw_capacity!r} must be a non-negative integer",
                )
            )
    recusals: list[str] = []
    relations: list[str] = []
    for raw in _recusal_items(values[9]):
        code, relation = _recusal(raw, errors)
        if code not in recusals:
            recusals.append(code)
            relations.append(relation)
            continue
        # declared twice: a relation given once counts; two different ones are a question
        # for the person who wrote the file, not for us
        at = recusals.index(code)
        if relations[at] == "declared":
            relations[at] = relation
        elif relation not in ("declared", relations[at]):
            errors.append(
                FieldError(
                    "recusal_usccs",
                    f"对“{code}”的回避声明给出了两种不同的回避事由",
                    f"{code} is declared twice with different relations",
                )
            )
    if errors:
        return None, errors
    return (
        iid,
        name,
        department,
        region_codes,
        cert,
        expiry,
        expertise,
        status,
        capacity,
        recusals,
        relations,
    ), errors


def _recusal_items(v: Any) -> list[Any]:
    """Recusal declarations as given: "USCC" or "USCC:relation" texts (CSV, split on ";"), or
    in JSON also objects {"uscc": …, "relation": …}."""
    if isinstance(v, list):
        return [x for x in v if not (isinstance(x, str) and not x.strip())]
    return _list(v)


def _recusal(raw: Any, errors: list[FieldError]) -> tuple[str, str]:
    """One declaration: the USCC (checked) and the code of its relation."""
    if isinstance(raw, dict):
        uscc_raw, relation_raw = raw.get("uscc"), _text(raw.get("relation"))
    else:
        text = _text(raw).replace("：", ":")
        uscc_raw, _, relation_raw = text.partition(":")
        relation_raw = relation_raw.strip()
    code = validate_uscc_field("recusal_usccs", uscc_raw, errors)
    if not relation_raw:
        return code, "declared"
    relation = _RELATION_WORDS.get(relation_raw) or _RELATION_WORDS.get(relation_raw.lower())
    if relation is None:
        shown = "、".join(label for label, _ in RECUSAL_RELATIONS.values())
        errors.append(
            FieldError(
                "recusal_usccs",
                f"回避事由“{relation_raw}”无法识别（{shown}）",
                f"unknown recusal relation {relation_raw!r}: one of {', '.join(RECUSAL_RELATIONS)}",
            )
        )
        return code, "other"
    return code, relation


__all__ = [
    "DEFAULT_ENTITY_TYPES",
    "DEFAULT_EXPERTISE",
    "DEFAULT_RISK_CLASSES",
    "DEFAULT_STATUSES",
    "ENTITY_FIELDS",
    "ENTITY_REQUIRED",
    "HEADER_ALIASES",
    "INSPECTOR_COLUMNS",
    "INSPECTOR_FIELDS",
    "INSPECTOR_REQUIRED",
    "INSPECTOR_STATUSES",
    "FieldError",
    "Vocabulary",
    "canonical_labels",
    "validate_entity",
    "validate_inspector",
    "validate_uscc_field",
]
