"""Screening plain CSV chunks of entities by column, so that PostgreSQL can load them as they are.

A province's bulk file is five million lines that are nearly all valid and already in the
form `validate_entity` would give them. Checking them line by line in Python costs about
5 µs a line; checked by column over the raw bytes with NumPy it costs a small fraction of that.
`screen_entities` finds, for a chunk of lines (no header, each ending in "\\n", no quote,
carriage return or NUL — see `is_plain`), the lines that are certainly *canonical*: for those,
loading the text as it is (`COPY … (FORMAT csv)`) and converting it with `CANONICAL_SQL` gives
exactly the record `validate_entity` returns. Every other line — invalid, or merely written in
another form (lower case, "是", bare industry digits, surrounding spaces …) — is returned for
the general validator, which decides and explains. The screen is conservative: when in doubt a
line is sent to the general validator, never accepted here.

A canonical line has 13 fields (12 commas) and:
  uscc             18 characters of the USCC alphabet (digits at 3–8), right check character;
  name             1–200 bytes, no whitespace at either end;
  entity_type      one of the vocabulary's, exactly;
  region_code      in the GB/T 2260 table; industry_code in the GB/T 4754 table, exactly;
  status           empty (存续) or one of the vocabulary's; abnormal empty, 0 or 1;
  risk_class       empty or one of the vocabulary's (upper case), with a date when given;
  dates            empty or YYYY-MM-DD, a real day of year 1900 or later;
  tags, key_supervision  empty or labels joined by ";" exactly as the validator would join them;
  address          at most 300 bytes, no whitespace at either end.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from typing import Any, Final

import numpy as np

from services.registry.domain import uscc as uscc_mod
from services.registry.domain.codes import canonical_industry, industries, regions
from services.registry.domain.rows import MAX_ADDRESS, MAX_NAME, canonical_labels
from services.registry.domain.vocabulary import Vocabulary

Mask = Any  # a NumPy boolean array, one per line

FIELDS: Final = 13
_COMMA: Final = 44
_NEWLINE: Final = 10
# First bytes of a character that str.strip() might remove: ASCII whitespace, and the lead
# bytes of every non-ASCII whitespace character (U+0085, U+00A0: C2; U+1680: E1; U+2000–U+205F:
# E2; U+3000: E3). Any character starting so is sent to the validator (conservative).
_ASCII_SPACE: Final = (9, 10, 11, 12, 13, 28, 29, 30, 31, 32)
_LEADS: Final = (0xC2, 0xE1, 0xE2, 0xE3)
MAX_LABELS_BYTES: Final = 512

# How PostgreSQL turns a canonical line, loaded as text columns (dates as dates: see
# store.staging.RAW_COLUMNS), into the entity record.
CANONICAL_SQL: Final = (
    "uscc, name, entity_type, region_code, industry_code, coalesce(status, '存续') AS status, "
    "coalesce(abnormal = '1', false) AS abnormal, risk_class, "
    "risk_class_date, "
    "coalesce(string_to_array(tags, ';'), '{}') AS tags, "
    "coalesce(string_to_array(key_supervision, ';'), '{}') AS key_supervision, "
    "coalesce(address, '') AS address, established"
)


def warm() -> None:
    """Build the lookup tables now (they are built on first use otherwise)."""
    _uscc_tables()
    _check_values()
    _codes("region")
    _codes("industry")


def is_plain(data: bytes) -> bool:
    """Whether every line of `data` is one CSV record read as it stands: no quote, no carriage
    return, no NUL, no blank line, and a line end at the end."""
    return (
        bool(data)
        and data.endswith(b"\n")
        and b'"' not in data
        and b"\r" not in data
        and b"\0" not in data
        and b"\n\n" not in data
        and not data.startswith(b"\n")
    )


@cache
def _uscc_tables() -> tuple[Any, Any]:
    """Per position (0–17): the weighted value of each allowed byte, and whether it is allowed."""
    weight = np.zeros((18, 256), np.int32)
    allowed = np.zeros((18, 256), bool)
    for i in range(18):
        chars = uscc_mod.ALPHABET if i < 2 or i >= 8 else "0123456789"  # as uscc._POSITION_TABLES
        for c in chars:
            allowed[i, ord(c)] = True
            if i < 17:
                weight[i, ord(c)] = uscc_mod.ALPHABET.index(c) * uscc_mod.WEIGHTS[i]
    return weight, allowed


@cache
def _check_values() -> Any:
    """Byte of each check character value 0–30."""
    return np.frombuffer(uscc_mod.ALPHABET.encode(), np.uint8).astype(np.int32)


@cache
def _codes(kind: str) -> frozenset[str]:
    if kind == "region":
        return frozenset(c for c in regions().by_code if c.strip() == c)
    return frozenset(c for c in industries().by_code if canonical_industry(c) == c)


class _Fields:
    """Start and end byte offsets of the 13 fields of each line (lines with another number of
    fields get empty ranges and are marked bad)."""

    def __init__(self, data: bytes) -> None:
        # 8 zero bytes after the end, so that an 8-byte word can be read at any offset
        self.data = data
        self.buf = buf = np.frombuffer(data + bytes(8), np.uint8)
        self.last = len(data) - 1
        # the 8 bytes starting at every offset, as one little-endian word each (no copy)
        self.words = np.ndarray(shape=(len(data) + 1,), dtype="<u8", buffer=buf, strides=(1,))
        ends = np.flatnonzero(buf[: len(data)] == _NEWLINE)
        self.n = n = len(ends)
        starts = np.empty(n, np.int64)
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
        commas = np.flatnonzero(buf[: len(data)] == _COMMA)
        width = FIELDS - 1
        inner: Any = None
        if len(commas) == width * n:
            # the usual case: when every line's share of the commas lies inside it, every line
            # has exactly 12 (a line with more would push one into the next line's share)
            inner = commas.reshape(n, width)
            self.ok = (inner[:, 0] > starts - 1) & (inner[:, -1] < ends)
            if not self.ok.all():
                inner = None
        if inner is None:
            first = np.searchsorted(commas, starts)
            self.ok = np.searchsorted(commas, ends) - first == width
            if len(commas):
                pick = np.where(self.ok, first, 0)[:, None] + np.arange(width)
                inner = commas[np.minimum(pick, len(commas) - 1)]
        # bounds[:, k] is the comma before field k (or the line start - 1), bounds[:, k + 1]
        # the comma or line end after it
        bounds = np.zeros((n, FIELDS + 1), np.int64)
        bounds[:, 0] = starts - 1
        if inner is not None:
            bounds[:, 1:FIELDS] = inner
        bounds[:, FIELDS] = ends
        bounds[~self.ok] = 0
        self.bounds = bounds

    def span(self, k: int) -> tuple[Any, Any]:
        """Start offsets and lengths of field k."""
        start = self.bounds[:, k] + 1
        return start, self.bounds[:, k + 1] - start

    def byte(self, offsets: Any) -> Any:
        """The bytes at `offsets` (clipped into the data)."""
        return self.buf[np.clip(offsets, 0, self.last)]

    def key(self, k: int, width: int) -> tuple[list[Any], Any]:
        """Field k as little-endian 8-byte words (zero past its end; `ceil(width / 8)` of
        them) and its lengths; bytes past `width` are not read (callers refuse such lengths)."""
        start, length = self.span(k)
        out = []
        for w in range(0, width, 8):
            left = np.clip(length - w, 0, 8).astype(np.uint64)
            word = self.words[np.clip(start + w, 0, self.last + 1)]
            mask = np.where(
                left >= 8, ~np.uint64(0), (np.uint64(1) << (left * np.uint64(8))) - np.uint64(1)
            )
            out.append(word & mask)
        return out, length


def _words(value: bytes, width: int) -> list[int]:
    padded = value.ljust(-(-width // 8) * 8, b"\0")
    return [int.from_bytes(padded[i : i + 8], "little") for i in range(0, len(padded), 8)]


@cache
def _table(encoded: tuple[bytes, ...], width: int) -> Any:
    """Sorted one-word keys of values of at most 8 bytes."""
    return np.array(sorted(_words(a, width)[0] for a in encoded), np.uint64)


def _member(fields: _Fields, k: int, allowed: Iterable[str], *, empty_ok: bool) -> Mask:
    """Lines whose field k is exactly one of `allowed` (or empty, when that is allowed)."""
    # the validator strips a value before comparing: a vocabulary entry with spaces never matches
    encoded = sorted({a.encode() for a in allowed if a and a.strip() == a})
    width = max((len(a) for a in encoded), default=1)
    words, length = fields.key(k, width)
    fits = (length > 0) & (length <= width)
    if len(words) == 1 and len(encoded) > 8:
        table = _table(tuple(encoded), width)
        at = np.minimum(np.searchsorted(table, words[0]), len(table) - 1)
        inside = fits & (table[at] == words[0])
    else:
        inside = np.zeros(fields.n, bool)
        for a in encoded:
            match = length == len(a)
            for got, want in zip(words, _words(a, width), strict=True):
                match &= got == np.uint64(want)
            inside |= match
        inside &= fits
    return inside | (length == 0) if empty_ok else inside


def _bytes_of(words: list[Any], count: int) -> list[Any]:
    """The first `count` bytes of little-endian words, each as an int32 array."""
    out = []
    for i in range(count):
        word = words[i // 8]
        out.append(((word >> np.uint64(8 * (i % 8))) & np.uint64(0xFF)).astype(np.int32))
    return out


def _uscc(fields: _Fields) -> Mask:
    weight, allowed = _uscc_tables()
    words, length = fields.key(0, 18)
    chars = _bytes_of(words, 18)
    good = length == 18
    total = np.zeros(fields.n, np.int32)
    for i, c in enumerate(chars[:17]):
        good &= allowed[i, c]
        total += weight[i, c]
    good &= allowed[17, chars[17]]
    return good & (chars[17] == _check_values()[(31 - total % 31) % 31])


def _no_edge_space(fields: _Fields, k: int) -> Mask:
    """Lines whose field k (if not empty) neither starts nor ends with a character that might
    be whitespace to str.strip() (see _LEADS)."""
    start, length = fields.span(k)
    end = start + length  # one past the last byte
    b1 = fields.byte(end - 1)
    bad = np.isin(fields.byte(start), _ASCII_SPACE + _LEADS)
    bad |= np.isin(b1, _ASCII_SPACE)
    bad |= (length >= 2) & (fields.byte(end - 2) == 0xC2) & ((b1 == 0x85) | (b1 == 0xA0))
    bad |= (length >= 3) & np.isin(fields.byte(end - 3), _LEADS[1:])
    return (length == 0) | ~bad


_DAYS: Final = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def _date(fields: _Fields, k: int) -> tuple[Mask, Mask]:
    """(canonical, empty) for field k as a date."""
    (w0, w1), length = fields.key(k, 10)
    b = [c - 48 for c in _bytes_of([w0, w1], 10)]
    good = (length == 10) & (b[4] == -3) & (b[7] == -3)  # "-" is 48 - 3
    for i in (0, 1, 2, 3, 5, 6, 8, 9):
        good &= (b[i] >= 0) & (b[i] <= 9)
    year = b[0] * 1000 + b[1] * 100 + b[2] * 10 + b[3]
    month = b[5] * 10 + b[6]
    day = b[8] * 10 + b[9]
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    days = _DAYS[np.clip(month, 0, 12)] + ((month == 2) & leap)
    good &= (year >= 1900) & (month >= 1) & (month <= 12) & (day >= 1) & (day <= days)
    return good, length == 0


def _labels_ok(fields: _Fields, k: int) -> Mask:
    """Lines whose field k is empty or a canonical label list (checked once per distinct text
    by the validator's own rule)."""
    start, length = fields.span(k)
    given = np.flatnonzero((length > 0) & fields.ok)
    ok = length == 0
    if len(given):
        data = fields.data
        begin = start[given].tolist()
        values = [data[a:b] for a, b in zip(begin, (start + length)[given].tolist(), strict=True)]
        good = {v for v in set(values) if len(v) <= MAX_LABELS_BYTES and _decodes_to_labels(v)}
        ok[given] = np.fromiter((v in good for v in values), bool, len(values))
    return ok


def _decodes_to_labels(value: bytes) -> bool:
    try:
        return canonical_labels(value.decode("utf-8"))
    except UnicodeDecodeError:
        return False


def screen_entities(data: bytes, vocab: Vocabulary) -> list[int]:
    """0-based indexes of the lines of `data` (a plain chunk: see `is_plain`) that are not
    certainly canonical and must go through `validate_entity`."""
    if not data:
        return []
    fields = _Fields(data)
    ok = fields.ok.copy()
    ok &= _uscc(fields)
    _, name_len = fields.span(1)
    ok &= (name_len >= 1) & (name_len <= MAX_NAME) & _no_edge_space(fields, 1)
    ok &= _member(fields, 2, vocab.entity_types, empty_ok=False)
    ok &= _member(fields, 3, _codes("region"), empty_ok=False)
    ok &= _member(fields, 4, _codes("industry"), empty_ok=False)
    ok &= _member(fields, 5, vocab.statuses, empty_ok="存续" in vocab.statuses)
    ok &= _member(fields, 6, ("0", "1"), empty_ok=True)
    classes = [c for c in vocab.risk_classes if c == c.strip().upper()]
    ok &= _member(fields, 7, classes, empty_ok=True)
    class_date, no_class_date = _date(fields, 8)
    _, class_len = fields.span(7)
    ok &= class_date | no_class_date
    ok &= (class_len == 0) | ~no_class_date  # a class needs its date
    ok &= _labels_ok(fields, 9)
    ok &= _labels_ok(fields, 10)
    _, address_len = fields.span(11)
    ok &= (address_len <= MAX_ADDRESS) & _no_edge_space(fields, 11)
    established, no_established = _date(fields, 12)
    ok &= established | no_established
    return [int(i) for i in np.flatnonzero(~ok)]
