"""Reading bulk files for the registry import on the client side: encoding and chunks.

A file is sent to the registry in chunks of whole records (a quoted CSV field may span lines),
each converted to UTF-8 and, for CSV, preceded by the header row. Reading is streaming: only
one chunk is in memory at a time.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from services.registry.domain.parsing import SAMPLE_BYTES, detect_encoding


@dataclass(frozen=True)
class Chunk:
    """Whole records of a file: `text` (UTF-8, CSV with its header), the file line of its
    first record, and how many records it holds."""

    number: int
    first_line: int
    rows: int
    text: str


def file_format(path: Path) -> str:
    """"jsonl" for .jsonl/.ndjson files, else "csv"."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def open_text(path: Path) -> io.TextIOWrapper:
    """The file as text in its detected encoding (UTF-8, UTF-8 with BOM, GB18030)."""
    raw = path.open("rb")
    encoding = detect_encoding(raw.read(SAMPLE_BYTES))
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def chunks(path: Path, rows_per_chunk: int = 50_000) -> Iterator[Chunk]:
    """Cut a CSV or JSON Lines file into chunks of whole records."""
    fmt = file_format(path)
    with open_text(path) as f:
        header = ""
        line_no = 0
        if fmt == "csv":
            header = f.readline()
            line_no = 1
            if header and not header.endswith("\n"):
                header += "\n"
        number = 0
        buf: list[str] = []
        rows = 0
        first = line_no + 1
        record: list[str] = []
        quotes = 0
        for line in f:
            line_no += 1
            if fmt == "csv":
                record.append(line)
                quotes += line.count('"')
                if quotes % 2:  # inside a quoted field: the record goes on
                    continue
                buf.extend(record)
                record, quotes = [], 0
            else:
                buf.append(line)
            rows += 1
            if rows >= rows_per_chunk:
                yield Chunk(number, first, rows, header + "".join(buf))
                number += 1
                buf, rows, first = [], 0, line_no + 1
        buf.extend(record)
        if buf:
            yield Chunk(number, first, rows + (1 if record else 0), header + "".join(buf))


def count_records(path: Path) -> int:
    """Roughly how many records a file holds (its lines minus a CSV header), for progress."""
    n = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return max(0, n - (1 if file_format(path) == "csv" else 0))
