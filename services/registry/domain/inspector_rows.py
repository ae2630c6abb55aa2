"""Validation of inspector rows (执法检查人员名录库): see `rows` for the contract of a
validator (the clean record in field order, or every problem found; nothing raises)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any, Final

from services.registry.domain.codes import regions
from services.registry.domain.fields import (
    FieldError,
    clean_text,
    missing,
    one_of,
    parse_date,
    split_list,
    validate_uscc_field,
)
from services.registry.domain.vocabulary import (
    INSPECTOR_STATUSES,
    RECUSAL_RELATIONS,
    Vocabulary,
)

_RELATION_WORDS: Final = {
    word: code
    for code, (label, words) in RECUSAL_RELATIONS.items()
    for word in (code, label, *words)
}

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

_INSPECTOR_ID: Final = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


def validate_inspector(
    values: Sequence[Any], vocab: Vocabulary
) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
    """Check one inspector row given in `INSPECTOR_FIELDS` order (see `validate_entity`)."""
    errors: list[FieldError] = []
    iid = clean_text(values[0])
    if not iid:
        errors.append(missing("inspector_id"))
    elif not _INSPECTOR_ID.match(iid):
        errors.append(
            FieldError(
                "inspector_id",
                f"工号“{iid}”只能含字母、数字、-和_，最长32位",
                f"inspector id {iid!r} may hold only letters, digits, - and _ (max 32)",
            )
        )
    name = clean_text(values[1])
    if not name:
        errors.append(missing("name"))
    department = clean_text(values[2])
    if not department:
        errors.append(missing("department"))
    region_codes = split_list(values[3])
    if not region_codes:
        errors.append(missing("region_codes"))
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
    cert = clean_text(values[4])
    if not cert:
        errors.append(missing("certificate_no"))
    expiry = parse_date(values[5], "certificate_expiry", errors)
    if expiry is None and not clean_text(values[5]):
        errors.append(missing("certificate_expiry"))
    expertise = split_list(values[6])
    for x in expertise:
        if x not in vocab.expertise:
            errors.append(one_of("expertise", x, vocab.expertise))
    raw_status = clean_text(values[7]) or "active"
    status = INSPECTOR_STATUSES.get(raw_status.lower())
    if status is None:
        errors.append(one_of("status", raw_status, frozenset(INSPECTOR_STATUSES)))
    raw_capacity = clean_text(values[8])
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
    return split_list(v)


def _recusal(raw: Any, errors: list[FieldError]) -> tuple[str, str]:
    """One declaration: the USCC (checked) and the code of its relation."""
    if isinstance(raw, dict):
        uscc_raw, relation_raw = raw.get("uscc"), clean_text(raw.get("relation"))
    else:
        text = clean_text(raw).replace("：", ":")
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
