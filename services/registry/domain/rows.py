"""Validation of entity rows (检查对象名录库), and the one place that names what validates a
directory row: entity rows here, inspector rows in `inspector_rows`, the field parsing both
share in `fields`.

A row arrives as a sequence of raw values in the order of `ENTITY_FIELDS` / `INSPECTOR_FIELDS`
(strings from CSV; strings, lists, booleans or numbers from JSON Lines). Validation returns
either the clean record, as a tuple in the same field order ready for COPY, or every problem
found, each naming the field and the reason in Chinese and English. Nothing raises: a million
bad rows must cost no more than a million good ones.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from services.registry.domain import uscc as uscc_mod
from services.registry.domain.codes import canonical_industry, regions
from services.registry.domain.fields import (
    FieldError,
    canonical_labels,
    clean_text,
    missing,
    one_of,
    parse_bool,
    parse_date,
    parse_labels,
    validate_uscc_field,
)
from services.registry.domain.inspector_rows import (
    INSPECTOR_COLUMNS,
    INSPECTOR_FIELDS,
    INSPECTOR_REQUIRED,
    validate_inspector,
)
from services.registry.domain.vocabulary import (
    DEFAULT_ENTITY_TYPES,
    DEFAULT_EXPERTISE,
    DEFAULT_RISK_CLASSES,
    DEFAULT_STATUSES,
    HEADER_ALIASES,
    INSPECTOR_STATUSES,
    Vocabulary,
)

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

MAX_NAME: Final = 200
MAX_ADDRESS: Final = 300


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
    code = raw_code.strip().upper() if raw_code.__class__ is str else clean_text(raw_code).upper()
    if not code:
        errors.append(missing("uscc"))
    else:
        why = uscc_mod.problem(code)
        if why is not None:
            errors.append(
                FieldError(
                    "uscc", f"统一社会信用代码“{code}”无效：{why[0]}", f"USCC {code!r}: {why[1]}"
                )
            )
    name = raw_name.strip() if raw_name.__class__ is str else clean_text(raw_name)
    if not name:
        errors.append(missing("name"))
    elif len(name) > MAX_NAME:
        errors.append(
            FieldError("name", f"名称超过{MAX_NAME}个字符", f"name longer than {MAX_NAME}")
        )
    etype = raw_type.strip() if raw_type.__class__ is str else clean_text(raw_type)
    if etype not in vocab.entity_types:
        errors.append(
            missing("entity_type")
            if not etype
            else one_of("entity_type", etype, vocab.entity_types)
        )
    region = raw_region.strip() if raw_region.__class__ is str else clean_text(raw_region)
    table = regions()
    if region not in table.by_code:
        if not region:
            errors.append(missing("region_code"))
        else:
            errors.append(
                FieldError(
                    "region_code",
                    f"区划代码“{region}”不在GB/T 2260（{table.edition}年版）中",
                    f"region code {region!r} is not in GB/T 2260 ({table.edition})",
                )
            )
    raw_ind = raw_industry.strip() if raw_industry.__class__ is str else clean_text(raw_industry)
    industry = canonical_industry(raw_ind) if raw_ind else None
    if industry is None:
        if not raw_ind:
            errors.append(missing("industry_code"))
        else:
            errors.append(
                FieldError(
                    "industry_code",
                    f"行业代码“{raw_ind}”不在GB/T 4754-2017中",
                    f"industry code {raw_ind!r} is not in GB/T 4754-2017",
                )
            )
    status = (
        raw_status.strip() if raw_status.__class__ is str else clean_text(raw_status)
    ) or "存续"
    if status not in vocab.statuses:
        errors.append(one_of("status", status, vocab.statuses))
    if raw_abnormal.__class__ is str and raw_abnormal in ("0", ""):
        abnormal = False
    else:
        abnormal = parse_bool(raw_abnormal, "abnormal", errors)
    risk_class = (
        raw_class.strip() if raw_class.__class__ is str else clean_text(raw_class)
    ).upper() or None
    if risk_class is not None and risk_class not in vocab.risk_classes:
        errors.append(one_of("risk_class", risk_class, vocab.risk_classes))
    risk_date = parse_date(raw_class_date, "risk_class_date", errors)
    if risk_class is not None and risk_date is None and not clean_text(raw_class_date):
        errors.append(
            FieldError(
                "risk_class_date", "有风险分类时必须填写分类日期", "a risk class needs its date"
            )
        )
    tags = [] if raw_tags == "" or raw_tags is None else parse_labels(raw_tags, "tags", errors)
    key_supervision = (
        [] if raw_key == "" or raw_key is None else parse_labels(raw_key, "key_supervision", errors)
    )
    address = raw_address.strip() if raw_address.__class__ is str else clean_text(raw_address)
    if len(address) > MAX_ADDRESS:
        errors.append(
            FieldError(
                "address", f"地址超过{MAX_ADDRESS}个字符", f"address longer than {MAX_ADDRESS}"
            )
        )
    established = (
        None if raw_established == "" else parse_date(raw_established, "established", errors)
    )
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
