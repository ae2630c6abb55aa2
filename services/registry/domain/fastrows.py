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


def _sum(code: str) -> int:
    return sum(map(dict.__getitem__, uscc_mod._POSITION_TABLES, code))


class EntityChecker:
    """Validates entity rows (`ENTITY_FIELDS` order) with per-column memos; see the module."""

    def __init__(self, vocab: Vocabulary) -> None:
        self.vocab = vocab
        # one memo per column except uscc (unique per row), name and address (nearly so)
        self.memo: list[dict[Any, Any]] = [{} for _ in range(13)]

    def _column(self, i: int, raw: str, probe: list[Any]) -> Any:
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
        out: list[Any] = [code, name]
        memo = self.memo
        for i in (2, 3, 4, 5, 6, 7, 8, 9, 10, 12):
            raw = values[i]
            if raw.__class__ is not str:
                return validate_entity(values, self.vocab)
            value = memo[i].get(raw, _MISS)
            if value is _MISS:
                value = self._column(i, raw, _PROBE)
                if value is _MISS:
                    return validate_entity(values, self.vocab)
            out.append(value)
        out.insert(11, address)
        # Lists are mutable: each record gets its own copy of a memoised tag list.
        out[9] = list(out[9])
        out[10] = list(out[10])
        # A class and its date depend on each other: a class without a date is refused.
        if out[7] is not None and out[8] is None:
            return validate_entity(values, self.vocab)
        return tuple(out), []


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
