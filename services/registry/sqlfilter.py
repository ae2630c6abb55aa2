"""Entity filters (`EntityFilter`) as SQL: a WHERE clause for stats, a row of a strata table
for freezing. Only parameters and fixed column names reach the SQL text."""

from __future__ import annotations

import re
from typing import Any

from contracts.registry import EntityFilter
from services.kit.errors import Invalid
from services.registry.domain.codes import industries

_REGION_PREFIX = re.compile(r"^\d{1,6}$")
_INDUSTRY_PREFIX = re.compile(r"^[A-T](\d{0,4})$")


def region_prefixes(prefixes: list[str]) -> list[str]:
    """Checked region prefixes with those covered by a shorter one removed (no double match)."""
    for p in prefixes:
        if not _REGION_PREFIX.match(p):
            raise Invalid(f"region prefix {p!r} must be 1-6 digits")
    kept = sorted(set(prefixes), key=len)
    out: list[str] = []
    for p in kept:
        if not any(p.startswith(q) for q in out):
            out.append(p)
    return sorted(out)


def industry_patterns(prefixes: list[str]) -> list[str]:
    """LIKE patterns for industry prefixes; bare digits get their 门类 letter ("13" → "C13%")."""
    out = []
    for raw in prefixes:
        p = raw.strip().upper()
        if p[:1].isdigit() and len(p) >= 2:
            section = next(
                (c.code[0] for c in industries().at_level("division") if c.code[1:] == p[:2]),
                None,
            )
            if section is None:
                raise Invalid(f"industry prefix {raw!r} is not in GB/T 4754-2017")
            p = section + p
        if not _INDUSTRY_PREFIX.match(p):
            raise Invalid(f"industry prefix {raw!r} must be a 门类 letter and up to 4 digits")
        out.append(p + "%")
    return out


def where(f: EntityFilter, params: list[Any], alias: str = "e") -> str:
    """SQL condition for `f` over table alias `alias`; appends its values to `params`."""

    def p(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    parts = ["true"]
    if f.region_prefixes:
        pats = [x + "%" for x in region_prefixes(f.region_prefixes)]
        parts.append(f"{alias}.region_code LIKE ANY({p(pats)}::text[])")
    if f.industry_prefixes:
        parts.append(
            f"{alias}.industry_code LIKE ANY({p(industry_patterns(f.industry_prefixes))}::text[])"
        )
    if f.entity_types:
        parts.append(f"{alias}.entity_type = ANY({p(f.entity_types)}::text[])")
    if f.risk_classes:
        parts.append(f"{alias}.risk_class = ANY({p(f.risk_classes)}::text[])")
    if f.tags_any:
        parts.append(f"{alias}.tags && {p(f.tags_any)}::text[]")
    if f.statuses:
        parts.append(f"{alias}.status = ANY({p(f.statuses)}::text[])")
    if f.exclude_abnormal:
        parts.append(f"NOT {alias}.abnormal")
    if f.exclude_key_supervision:
        parts.append(f"cardinality({alias}.key_supervision) = 0")
    return " AND ".join(parts)


def strata_rows(stratum_id: str, f: EntityFilter) -> list[tuple[Any, ...]]:
    """Rows of the freeze strata table for one stratum.

    A stratum is expanded into one row per region prefix × risk class × entity type it names
    (an empty prefix, or a null key, where it names none). An entity has one region, one class
    and one type, so it meets at most one row of a stratum: the join never doubles a candidate,
    and it can be a hash join on all three keys instead of a filter over every stratum.
    """
    prefixes = region_prefixes(f.region_prefixes) if f.region_prefixes else [""]
    classes: list[str | None] = list(dict.fromkeys(f.risk_classes)) or [None]
    types: list[str | None] = list(dict.fromkeys(f.entity_types)) or [None]
    common = (
        industry_patterns(f.industry_prefixes) if f.industry_prefixes else None,
        f.tags_any or None,
        f.statuses or None,
        f.exclude_abnormal,
        f.exclude_key_supervision,
    )
    return [
        (stratum_id, len(prefix), prefix, cls, typ, *common)
        for prefix in prefixes
        for cls in classes
        for typ in types
    ]


def shapes(rows: list[tuple[Any, ...]]) -> list[tuple[int, bool, bool]]:
    """The distinct (prefix length, class keyed, type keyed) of strata rows: one join each."""
    return sorted({(r[1], r[3] is not None, r[4] is not None) for r in rows})


STRATA_COLUMNS = (
    "stratum_id",
    "region_len",
    "region_prefix",
    "class_key",
    "type_key",
    "industry_patterns",
    "tags_any",
    "statuses",
    "exclude_abnormal",
    "exclude_key",
)
STRATA_TABLE_SQL = """
CREATE TEMP TABLE freeze_strata (
    stratum_id text COLLATE "C" NOT NULL,
    region_len int NOT NULL,
    region_prefix text COLLATE "C" NOT NULL,
    class_key text,
    type_key text,
    industry_patterns text[],
    tags_any text[],
    statuses text[],
    exclude_abnormal boolean NOT NULL,
    exclude_key boolean NOT NULL
) ON COMMIT DROP;
CREATE TEMP TABLE freeze_exclude (
    stratum_id text COLLATE "C" NOT NULL,
    uscc text COLLATE "C" NOT NULL,
    PRIMARY KEY (stratum_id, uscc)
) ON COMMIT DROP;
"""

# The conditions of a strata row `s` over an entity `e`, besides the join keys.
STRATA_MATCH = """
    (s.industry_patterns IS NULL OR e.industry_code LIKE ANY (s.industry_patterns))
    AND (s.tags_any IS NULL OR e.tags && s.tags_any)
    AND (s.statuses IS NULL OR e.status = ANY (s.statuses))
    AND (NOT s.exclude_abnormal OR NOT e.abnormal)
    AND (NOT s.exclude_key OR cardinality(e.key_supervision) = 0)
"""
STRATA_EXCLUDE = """
    AND NOT EXISTS (
        SELECT 1 FROM freeze_exclude x WHERE x.stratum_id = s.stratum_id AND x.uscc = e.uscc
    )
"""


def join_branch(shape: tuple[int, bool, bool], source: str, with_excludes: bool) -> str:
    """One hash join of entities to the strata rows of one shape (see `shapes`)."""
    n, by_class, by_type = shape
    on = [
        f"s.region_len = {int(n)}",
        f"(s.class_key IS NOT NULL) = {bool(by_class)}",
        f"(s.type_key IS NOT NULL) = {bool(by_type)}",
        f"left(e.region_code, {int(n)}) = s.region_prefix",
    ]
    if by_class:
        on.append("e.risk_class = s.class_key")
    if by_type:
        on.append("e.entity_type = s.type_key")
    return (
        f"SELECT s.stratum_id, e.uscc FROM {source} e JOIN freeze_strata s "
        f"ON {' AND '.join(on)} WHERE {STRATA_MATCH}" + (STRATA_EXCLUDE if with_excludes else "")
    )
