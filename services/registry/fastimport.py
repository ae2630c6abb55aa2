"""Staging a plain CSV chunk of entities without a Python object per field.

A chunk is "plain" when its columns are in field order and it holds no quote, carriage return,
tab, backslash or blank line: then every line is one record, `str.split(",")` gives its fields
and the values need no escaping in `COPY … (FORMAT text)`. Such a chunk is validated by column:
the USCC check characters on the first 18 characters of each line, names and addresses by their
length and surrounding whitespace, and every other column through its distinct values, each
checked once by the general validator (memoised per process in `EntityChecker`) and turned into
its `COPY` text. Rows with any value that is not clean (a bad value, or a text the general
validator would normalise) are validated one by one exactly as before, so the rejects and the
staged records are those of the general path; all the others become `COPY` text lines with one
f-string each. Anything else (quotes, JSON Lines, inspectors) takes the general path.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from services.registry.domain import fastrows
from services.registry.domain.parsing import map_header
from services.registry.domain.rows import (
    ENTITY_FIELDS,
    ENTITY_REQUIRED,
    MAX_ADDRESS,
    MAX_NAME,
    FieldError,
    Vocabulary,
    validate_entity,
)

MAPPED = fastrows.MAPPED_COLUMNS
_WIDTH = len(ENTITY_FIELDS)


class NotPlain(Exception):
    """The chunk is not plain after all: roll back and take the general path."""


def plain_lines(text: str) -> list[str] | None:
    """The data lines of a plain chunk (see the module), or None."""
    nl = text.find("\n")
    if nl < 0:
        return None
    header = next(csv.reader([text[:nl]]))
    if map_header(header, ENTITY_FIELDS, ENTITY_REQUIRED) != list(range(_WIDTH)):
        return None
    data = text[nl + 1 :]
    if not data or any(c in data for c in ('"', "\r", "\t", "\\")):
        return None
    lines = data.rstrip("\n").split("\n")
    if "" in lines:
        return None
    return lines


def copy_text(value: Any) -> str:
    """A clean value as `COPY … (FORMAT text)` writes it (values of plain chunks hold no tab,
    backslash, newline or double quote, so nothing needs escaping)."""
    if value is None:
        return "\\N"
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, list):
        return "{" + ",".join(f'"{x}"' for x in value) + "}"
    return str(value)


def split_plain(
    lines: list[str], checker: fastrows.EntityChecker
) -> tuple[list[list[str]], list[dict[str, str]], set[int]]:
    """Fields of each line, the `COPY` text of each mapped column's clean values, and the
    0-based indexes of rows to validate one by one."""
    rows = [line.split(",") for line in lines]
    if set(map(len, rows)) != {_WIDTH}:
        raise NotPlain("a line has another number of fields")
    cols = list(zip(*rows, strict=True))
    maps: list[dict[str, str]] = [{} for _ in range(_WIDTH)]
    slow: set[int] = {n - 1 for n in fastrows.bad_uscc_lines(lines)}
    for i in MAPPED:
        bad = set()
        for raw in set(cols[i]):
            value = checker.value(i, raw)
            if value is fastrows.MISS:
                bad.add(raw)
            else:
                maps[i][raw] = copy_text(value)
        if bad:
            slow.update(n for n, raw in enumerate(cols[i]) if raw in bad)
    slow.update(n for n, x in enumerate(cols[1]) if not 0 < len(x) <= MAX_NAME or x.strip() != x)
    slow.update(n for n, x in enumerate(cols[11]) if len(x) > MAX_ADDRESS or x.strip() != x)
    # a risk class needs its date
    slow.update(n for n, (c, d) in enumerate(zip(cols[7], cols[8], strict=True)) if c and not d)
    return rows, maps, slow


async def stage_plain(
    conn: Any,
    *,
    stage: str,
    chunk: int,
    lines: list[str],
    first_line: int,
    vocab: Vocabulary,
    checker: fastrows.EntityChecker,
) -> tuple[int, list[dict[str, Any]]]:
    """Stage the lines of a plain chunk inside the caller's transaction; returns the count of
    staged rows and the rejects."""
    rows, maps, slow = split_plain(lines, checker)
    m2, m3, m4, m5, m6, m7, m8, m9, m10, m12 = (maps[i] for i in MAPPED)
    base = first_line
    out = [
        f"{chunk}\t{base + n}\t{r[0]}\t{r[1]}\t{m2[r[2]]}\t{m3[r[3]]}\t{m4[r[4]]}\t"
        f"{m5[r[5]]}\t{m6[r[6]]}\t{m7[r[7]]}\t{m8[r[8]]}\t{m9[r[9]]}\t{m10[r[10]]}\t"
        f"{r[11]}\t{m12[r[12]]}\n"
        for n, r in enumerate(rows)
        if n not in slow
    ]
    columns = ["chunk", "line", *ENTITY_FIELDS]
    if out:
        await conn.copy_to_table(
            stage, source=io.BytesIO("".join(out).encode("utf-8")), columns=columns
        )
    rejects: list[dict[str, Any]] = []
    fixed = []
    for n in sorted(slow):
        record, errors = validate_entity(rows[n], vocab)
        if record is None:
            raw = dict(zip(ENTITY_FIELDS, rows[n], strict=True))
            rejects.append(_reject(base + n, errors, raw))
        else:
            fixed.append((chunk, base + n, *record))
    if fixed:
        await conn.copy_records_to_table(stage, records=fixed, columns=columns)
    return len(out) + len(fixed), rejects


def _reject(line: int, errors: list[FieldError], raw: dict[str, Any]) -> dict[str, Any]:
    return {"line": line, "errors": [e.as_dict() for e in errors], "raw": raw}
