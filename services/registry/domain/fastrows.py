"""A fast path for validating entity rows of CSV files, five million at a time.

`validate_entity` checks one field after another with the general conversions (any value
type, whitespace, aliases such as "是" or bare industry digits). Most values of a bulk file
repeat: a province has a hundred counties, a few thousand industry codes, a few thousand
dates, a handful of tag combinations. `EntityChecker` therefore keeps, per column, a dict from
each raw text already seen to its clean value, filled by the general conversion itself the
first time a text occurs; a row whose every value is a known good text costs a few dict
look-ups and the USCC check character. Anything else (an unseen text that is not clean, a
bad value, a non-string) goes to `validate_entity`, so rejects and their reasons are exactly
the general ones, and a record accepted here is exactly the one `validate_entity` returns.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

from services.registry.domain import uscc as uscc_mod
from services.registry.domain.rows import FieldError, Vocabulary, validate_entity

# Bounded memo per column: values beyond this many distinct texts are simply checked each time.
MAX_MEMO: Final = 50_000
_MISS: Final = object()
MISS: Final = _MISS  # what `EntityChecker.value` returns for a text that is not clean
# The columns validated through their distinct values (all but uscc, name and address).
MAPPED_COLUMNS: Final = (2, 3, 4, 5, 6, 7, 8, 9, 10, 12)


def _sum(code: str) -> int:
    return sum(map(dict.__getitem__, uscc_mod._POSITION_TABLES, code))


class EntityChecker:
    """Validates entity rows (`ENTITY_FIELDS` order) with per-column memos; see the module."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        # one memo per column except uscc (unique per row), name and address (nearly so)
        self.memo: list[dict[Any, Any]] = [{} for _ in range(13)]

    def _column(self, i: int, raw: str, probe: Sequence[str]) -> Any:
        """The clean value of column `i` for text `raw`, or _MISS when it is not clean.

        `probe` is a valid row in which only column `i` is replaced, so that the general
        validator decides about this one value.
        """
        memo = self.memo[i]
        value = memo.get(raw, _MISS)
        if value is not _MISS or len(memo) >= MAX_MEMO:
            return value
        row = list(probe)
        row[i] = raw
        if i == 7:
            row[8] = "2025-01-01"  # a class needs its date, or the probe would fail
        record, _ = validate_entity(row, self.vocab)
        value = _MISS if record is None else record[i]
        memo[raw] = value
        return value

    def value(self, i: int, raw: str) -> Any:
        """The clean value of text `raw` in column `i` (as `validate_entity` would convert
        it), or `MISS` when that text is not clean there."""
        return self._column(i, raw, _PROBE)

    def check(self, values: Sequence[Any]) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
        """Like `validate_entity`, faster for rows of strings already in clean form."""
        if len(values) != 13 or values[0].__class__ is not str:
            return validate_entity(values, self.vocab)
        code = values[0]
        name = values[1]
        address = values[11]
        try:
            fast = (
                len(code) == 18
                and code[17] == uscc_mod.ALPHABET[(31 - _sum(code) % 31) % 31]
                and 0 < len(name) <= 200
                and name.strip() == name
                and len(address) <= 300
                and address.strip() == address
            )
        except (KeyError, AttributeError, TypeError):
            fast = False
        if not fast:
            return validate_entity(values, self.vocab)
        # Unrolled: this runs once per row of a five-million-row file.
        m = self.memo
        try:
            v2, v3, v4, v5, v6, v7, v8, v9, v10, v12 = (
                m[2].get(values[2], _MISS),
                m[3].get(values[3], _MISS),
                m[4].get(values[4], _MISS),
                m[5].get(values[5], _MISS),
                m[6].get(values[6], _MISS),
                m[7].get(values[7], _MISS),
                m[8].get(values[8], _MISS),
                m[9].get(values[9], _MISS),
                m[10].get(values[10], _MISS),
                m[12].get(values[12], _MISS),
            )
        except TypeError:  # an unhashable value (a JSON list where a text belongs)
            return validate_entity(values, self.vocab)
        if _MISS in (v2, v3, v4, v5, v6, v7, v8, v9, v10, v12):
            return self._learn(values)
        # A class and its date depend on each other: a class without a date is refused.
        if v7 is not None and v8 is None:
            return validate_entity(values, self.vocab)
        # Lists are mutable: each record gets its own copy of a memoised tag list.
        return (code, name, v2, v3, v4, v5, v6, v7, v8, list(v9), list(v10), address, v12), []

    def _learn(self, values: Sequence[Any]) -> tuple[tuple[Any, ...] | None, list[FieldError]]:
        """A row with a text not seen before: learn its columns, or let the general
        validator decide."""
        for i in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12):
            raw = values[i]
            if raw.__class__ is not str or self._column(i, raw, _PROBE) is _MISS:
                return validate_entity(values, self.vocab)
        return self.check(values)


def bad_uscc_lines(lines: list[str]) -> list[int]:
    """1-based numbers of the CSV lines whose first field is not a canonical valid USCC
    (exactly 18 characters of the alphabet, right check character, then a comma)."""
    bad = []
    alphabet = uscc_mod.ALPHABET
    for n, line in enumerate(lines, start=1):
        try:
            if line[18] != "," or line[17] != alphabet[(31 - _sum(line[:18]) % 31) % 31]:
                bad.append(n)
        except (IndexError, KeyError):
            bad.append(n)
    return bad


# A valid row whose columns are replaced one at a time to learn each new text's clean value.
_PROBE: Final = (
    "91360202MA3500000A",
    "探针",
    "企业",
    "360202",
    "C3074",
    "存续",
    "0",
    "",
    "",
    "",
    "",
    "",
    "",
)
