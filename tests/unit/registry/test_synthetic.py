"""The synthetic generator writes files that validation accepts, or rejects on purpose."""

from __future__ import annotations

import io
from collections import Counter

from services.registry.domain import parsing, synthetic, uscc
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    INSPECTOR_FIELDS,
    INSPECTOR_REQUIRED,
    Vocabulary,
    validate_entity,
    validate_inspector,
)


def _rows(text: str, fields, required):  # type: ignore[no-untyped-def]
    return list(parsing.read_csv(io.StringIO(text, newline=""), fields, required))


def test_clean_entities_all_validate_and_are_unique() -> None:
    out = io.StringIO()
    counts = synthetic.write_entities(out, 3000, province="36", seed=7)
    assert counts == synthetic.Counts(3000, 0)
    rows = _rows(out.getvalue(), ENTITY_FIELDS, ENTITY_REQUIRED)
    records = []
    for r in rows:
        assert isinstance(r, parsing.RawRow)
        record, errors = validate_entity(r.values, Vocabulary())
        assert errors == [], (r.line, errors)
        records.append(record)
    usccs = [rec[0] for rec in records if rec]
    assert len(set(usccs)) == 3000
    assert all(u[2:4] == "36" for u in usccs)
    # a realistic mix, not one value
    assert len(Counter(rec[2] for rec in records if rec)) == 3
    assert len(Counter(rec[7] for rec in records if rec)) == 5  # A-D and unclassified
    assert len(Counter(rec[4][0] for rec in records if rec)) >= 10


def test_same_seed_same_file() -> None:
    a, b = io.StringIO(), io.StringIO()
    synthetic.write_entities(a, 200, seed=1)
    synthetic.write_entities(b, 200, seed=1)
    assert a.getvalue() == b.getvalue()


def test_bad_share_is_rejected() -> None:
    out = io.StringIO()
    counts = synthetic.write_entities(out, 4000, bad=0.05, seed=3)
    assert 120 < counts.bad < 300
    rows = _rows(out.getvalue(), ENTITY_FIELDS, ENTITY_REQUIRED)
    invalid = 0
    seen: list[tuple[str, int]] = []
    for r in rows:
        assert isinstance(r, parsing.RawRow)
        record, _ = validate_entity(r.values, Vocabulary())
        if record is None:
            invalid += 1
        else:
            seen.append((record[0], r.line))
    duplicated = sum(len(lines) for _, lines in parsing.duplicate_groups(sorted(seen)))
    # every spoiled row is caught; a duplicate spoils its twin as well
    assert counts.bad <= invalid + duplicated <= 2 * counts.bad


def test_entity_usccs_are_valid_and_distinct() -> None:
    codes = {synthetic.entity_uscc(91, "360202", i) for i in range(5000)}
    assert len(codes) == 5000
    assert all(uscc.is_valid(c) for c in codes)


def test_inspectors_validate() -> None:
    out = io.StringIO()
    synthetic.write_inspectors(out, 300, recusal_pool=["91360202MA3500000A"])
    for r in _rows(out.getvalue(), INSPECTOR_FIELDS, INSPECTOR_REQUIRED):
        assert isinstance(r, parsing.RawRow)
        assert validate_inspector(r.values, Vocabulary())[1] == []
