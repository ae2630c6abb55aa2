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


def key_labels(f: EntityFilter) -> list[str]:
    """The key-supervision labels that take an entity out of `f`'s stratum, sorted, distinct."""
    return sorted(set(f.exclude_key_supervision_labels))


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
    if f.exclude_key_supervision_labels:
        parts.append(f"NOT ({alias}.key_supervision && {p(key_labels(f))}::text[])")
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
        key_labels(f) or None,
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
    "idx",
    "code",
    "group_no",
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
    "exclude_labels",
    "inline_set",
    "object_set",
)


def tables_sql(suffix: str) -> str:
    """Create the strata and exclusion tables of one freeze (dropped by `drop_sql`).

    Plain UNLOGGED tables, created and dropped inside the freeze's transaction (so nobody
    else ever sees them), not temporary ones: a query that touches a temporary table cannot
    use parallel workers, and the ordered `COPY` a freeze is measured against does.
    """
    if not suffix.isalnum():
        raise ValueError("table suffix must be alphanumeric")
    return f"""
CREATE UNLOGGED TABLE freeze_strata_{suffix} (
    idx int NOT NULL,
    code text COLLATE "C" NOT NULL,
    group_no int NOT NULL,
    stratum_id text COLLATE "C" NOT NULL,
    region_len int NOT NULL,
    region_prefix text COLLATE "C" NOT NULL,
    class_key text,
    type_key text,
    industry_patterns text[],
    tags_any text[],
    statuses text[],
    exclude_abnormal boolean NOT NULL,
    exclude_key boolean NOT NULL,
    exclude_labels text[],
    inline_set int,
    object_set int
);
CREATE UNLOGGED TABLE freeze_exclusions_{suffix} (
    set_no int NOT NULL,
    uscc text COLLATE "C" NOT NULL,
    PRIMARY KEY (set_no, uscc)
);
"""


def drop_sql(suffix: str) -> str:
    """Drop the tables of `tables_sql`."""
    return f"DROP TABLE freeze_strata_{suffix}, freeze_exclusions_{suffix}"


# The conditions of a strata row `s` over an entity `e`, besides the join keys, for a branch
# whose strata do not share them.
STRATA_MATCH = """
    (s.industry_patterns IS NULL OR e.industry_code LIKE ANY (s.industry_patterns))
    AND (s.tags_any IS NULL OR e.tags && s.tags_any)
    AND (s.statuses IS NULL OR e.status = ANY (s.statuses))
    AND (NOT s.exclude_abnormal OR NOT e.abnormal)
    AND (NOT s.exclude_key OR e.key_supervision = '{}')
    AND (s.exclude_labels IS NULL OR NOT (e.key_supervision && s.exclude_labels))
"""
EXCLUDE = """
    AND NOT EXISTS (
        SELECT 1 FROM freeze_exclusions_{suffix} x WHERE x.set_no = s.{column} AND x.uscc = e.uscc
    )
"""
MAX_BRANCHES = 8
Shape = tuple[int, bool, bool]
# industry patterns, tags, statuses (tuples or None), exclude_abnormal, exclude_key,
# key-supervision labels (a tuple or None)
Common = tuple[Any, Any, Any, bool, bool, Any]


def _common(row: tuple[Any, ...]) -> Common:
    return (
        tuple(row[5]) if row[5] else None,
        tuple(row[6]) if row[6] else None,
        tuple(row[7]) if row[7] else None,
        bool(row[8]),
        bool(row[9]),
        tuple(row[10]) if row[10] else None,
    )


def group_rows(
    rows: list[tuple[Any, ...]], max_branches: int | None = None
) -> tuple[list[int], list[tuple[Shape, Common | None]]]:
    """The branch number of each strata row (as `strata_rows` makes them) and each branch.

    Rows sharing their join shape and their other conditions form one branch, whose
    conditions become plain filters on the entities, evaluated once per entity before the
    join (a province freeze usually has one or two such branches). With more than
    `max_branches` combinations, one branch per shape carries the conditions per row instead.
    """
    keys = [(shapes([r])[0], _common(r)) for r in rows]
    distinct = sorted(set(keys), key=repr)
    if len(distinct) <= (MAX_BRANCHES if max_branches is None else max_branches):
        index = {k: i for i, k in enumerate(distinct)}
        return [index[k] for k in keys], [(k[0], k[1]) for k in distinct]
    by_shape = sorted({k[0] for k in keys})
    at = {s: i for i, s in enumerate(by_shape)}
    return [at[k[0]] for k in keys], [(s, None) for s in by_shape]


def _fixed(common: Common, params: list[Any]) -> str:
    def p(value: Any) -> str:
        params.append(value)
        return f"${len(params)}"

    patterns, tags, statuses, no_abnormal, no_key, labels = common
    parts = ["true"]
    if patterns:
        parts.append(f"e.industry_code LIKE ANY ({p(list(patterns))}::text[])")
    if tags:
        parts.append(f"e.tags && {p(list(tags))}::text[]")
    if statuses:
        parts.append(f"e.status = ANY ({p(list(statuses))}::text[])")
    if no_abnormal:
        parts.append("NOT e.abnormal")
    if no_key:
        # not cardinality(…) = 0: equality with '{}' has statistics, so the planner knows
        # that most entities pass and chooses parallel workers for the join and the sort
        parts.append("e.key_supervision = '{}'")
    if labels:
        # `&&` has element statistics too: the planner knows that few entities carry them
        parts.append(f"NOT (e.key_supervision && {p(list(labels))}::text[])")
    return " AND ".join(parts)


def branch_sql(
    group_no: int,
    shape: Shape,
    common: Common | None,
    source: str,
    params: list[Any],
    *,
    suffix: str,
    inline: bool = False,
    objects: bool = False,
) -> str:
    """One hash join of entities to the strata rows of one branch (see `group_rows`),
    selecting (stratum number, stratum code, USCC); appends its values to `params`.

    A branch whose strata share their conditions checks them once per entity, as plain
    filters below the join; otherwise they are checked per joined row.
    """
    n, by_class, by_type = shape
    # region codes have six digits: a six-digit prefix is the code itself
    region = "e.region_code" if n == 6 else f"left(e.region_code, {int(n)})"
    on = [f"s.group_no = {int(group_no)}", f"{region} = s.region_prefix"]
    if by_class:
        on.append("e.risk_class = s.class_key")
    if by_type:
        on.append("e.entity_type = s.type_key")
    cond = STRATA_MATCH if common is None else _fixed(common, params)
    return (
        f"SELECT s.idx, s.code, e.uscc FROM {source} e JOIN freeze_strata_{suffix} s "
        f"ON {' AND '.join(on)} WHERE {cond}"
        + (EXCLUDE.format(suffix=suffix, column="inline_set") if inline else "")
        + (EXCLUDE.format(suffix=suffix, column="object_set") if objects else "")
    )
