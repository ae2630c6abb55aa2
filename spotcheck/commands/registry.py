"""`spotcheck registry …` commands: generate synthetic directories, import files.

`import` sends a file to the registry service in chunks of whole records (a quoted CSV field
may span lines), each converted to UTF-8 and, for CSV, preceded by the header row, then commits
the import; only one chunk is in memory at a time. Rejected rows go to `<FILE>.rejects.jsonl`
with their line number, field and reason in Chinese and English.
"""

from __future__ import annotations

import codecs
import io
import itertools
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from services.registry.library import SAMPLE_BYTES, detect_encoding

app = typer.Typer(
    help="两库: import, generate and inspect the entity directory and inspector roster",
    no_args_is_help=True,
)


@dataclass(frozen=True)
class Chunk:
    """Whole records of a file: `data` (UTF-8, CSV with its header), the file line of its
    first record, and how many records it holds."""

    number: int
    first_line: int
    rows: int
    data: bytes

    @property
    def text(self) -> str:
        """The chunk as text."""
        return self.data.decode("utf-8")


def file_format(path: Path) -> str:
    """ "jsonl" for .jsonl/.ndjson files, else "csv"."""
    return "jsonl" if path.suffix.lower() in (".jsonl", ".ndjson") else "csv"


def open_text(path: Path) -> io.TextIOWrapper:
    """The file as text in its detected encoding (UTF-8, UTF-8 with BOM, GB18030)."""
    raw = path.open("rb")
    encoding = detect_encoding(raw.read(SAMPLE_BYTES))
    raw.seek(0)
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def _pieces(path: Path, size: int = 1 << 22) -> Iterator[bytes]:
    """The file as UTF-8 in pieces of whole lines (the last may lack its line end), without a
    byte-order mark. A UTF-8 file is read as it is, never decoded here (the registry checks
    each chunk); a GB18030 file is decoded and encoded again."""
    with path.open("rb") as raw:
        encoding = detect_encoding(raw.read(SAMPLE_BYTES))
    if encoding == "gb18030":
        with open_text(path) as text:
            blocks: Iterator[bytes] = (b.encode("utf-8") for b in iter(lambda: text.read(size), ""))
            yield from _whole_lines(blocks)
        return
    with path.open("rb") as f:
        if f.read(3) != codecs.BOM_UTF8:
            f.seek(0)
        yield from _whole_lines(iter(lambda: f.read(size), b""))


def _whole_lines(blocks: Iterator[bytes]) -> Iterator[bytes]:
    pending = b""
    for block in blocks:
        data = pending + block
        # a "\r" at the very end may be the first half of "\r\n": it waits for the next piece
        cut = max(data.rfind(b"\n"), data.rfind(b"\r", 0, len(data) - 1)) + 1
        pending = data[cut:]
        if cut:
            yield data[:cut]
    if pending:
        yield pending


def chunks(path: Path, rows_per_chunk: int = 50_000) -> Iterator[Chunk]:
    """Cut a CSV or JSON Lines file into chunks of whole records (UTF-8, a CSV chunk starting
    with the header row).

    Pieces of the file without quotes or carriage returns (nearly all of a machine-written
    file) are cut at the right line ends, found all at once; others line by line, following
    quoted fields across lines.
    """
    import numpy as np

    fmt = file_format(path)
    pieces = _pieces(path)
    header = b""
    line_no = 0
    pending: list[bytes] = []
    if fmt == "csv":
        first = next(pieces, b"")
        lines = first.splitlines(keepends=True)
        if lines:
            header = lines[0] if lines[0].endswith(b"\n") else lines[0] + b"\n"
            line_no = 1
            rest = first[len(lines[0]) :]
            pending = [rest] if rest else []
    number = 0
    buf: list[bytes] = []
    rows = 0
    first_line = line_no + 1
    record: list[bytes] = []
    quotes = 0
    for piece in itertools.chain(pending, pieces):
        if not record and piece.endswith(b"\n") and b'"' not in piece and b"\r" not in piece:
            ends = np.flatnonzero(np.frombuffer(piece, np.uint8) == 10)
            at = 0  # lines of the piece taken so far
            while at < len(ends):
                take = min(len(ends) - at, rows_per_chunk - rows)
                begin = int(ends[at - 1]) + 1 if at else 0
                buf.append(piece[begin : int(ends[at + take - 1]) + 1])
                at += take
                rows += take
                line_no += take
                if rows >= rows_per_chunk:
                    yield Chunk(number, first_line, rows, header + b"".join(buf))
                    number += 1
                    buf, rows, first_line = [], 0, line_no + 1
            continue
        for line in piece.splitlines(keepends=True):
            line_no += 1
            if fmt == "csv":
                record.append(line)
                quotes += line.count(b'"')
                if quotes % 2:  # inside a quoted field: the record goes on
                    continue
                buf.extend(record)
                record, quotes = [], 0
            else:
                buf.append(line)
            rows += 1
            if rows >= rows_per_chunk:
                yield Chunk(number, first_line, rows, header + b"".join(buf))
                number += 1
                buf, rows, first_line = [], 0, line_no + 1
    buf.extend(record)
    if buf:
        yield Chunk(number, first_line, rows + (1 if record else 0), header + b"".join(buf))


def count_records(path: Path) -> int:
    """Roughly how many records a file holds (its lines minus a CSV header), for progress."""
    n = 0
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            n += block.count(b"\n")
    return max(0, n - (1 if file_format(path) == "csv" else 0))


def run_import(
    api: Any,
    kind: str,
    path: Path,
    rejects_path: Path,
    *,
    rows_per_chunk: int = 50_000,
    parallel: int = 3,
    on_chunk: Any = None,
) -> dict[str, Any]:
    """Open an import, send every chunk (`parallel` at a time, so the registry's worker
    processes stay busy), commit; write rejects; return the summary."""
    from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait

    opened = api.post("/imports", json={"kind": kind, "source": path.name})
    import_id = opened["import_id"]
    fmt = file_format(path)

    def send(chunk: Chunk) -> tuple[Chunk, dict[str, Any]]:
        reply = api.post(
            f"/imports/{import_id}/chunks/{chunk.number}",
            params={"first_line": chunk.first_line, "format": fmt},
            content=chunk.data,
            headers={"Content-Type": "text/plain; charset=utf-8"},
        )
        return chunk, reply

    with rejects_path.open("w", encoding="utf-8") as out:

        def collect(done: set[Future[tuple[Chunk, dict[str, Any]]]]) -> None:
            for fut in done:
                chunk, reply = fut.result()
                for r in reply["rejects"]:
                    out.write(json.dumps(r, ensure_ascii=False) + "\n")
                if on_chunk is not None:
                    on_chunk(chunk.rows)

        with ThreadPoolExecutor(max_workers=max(1, parallel)) as pool:
            pending: set[Future[tuple[Chunk, dict[str, Any]]]] = set()
            for chunk in chunks(path, rows_per_chunk):
                if len(pending) >= max(1, parallel):
                    done, pending = wait(pending, return_when=FIRST_COMPLETED)
                    collect(done)
                pending.add(pool.submit(send, chunk))
            done, _ = wait(pending)
            collect(done)
        result = api.post(f"/imports/{import_id}/commit")
        for r in result["rejects"]:
            out.write(json.dumps(r, ensure_ascii=False) + "\n")
    return {
        "import_id": import_id,
        "accepted": result["accepted"],
        "rejected": result["rejected"],
        "duplicates": result["duplicates"],
        "changed": result["changed"],
    }


@app.command("import")
def import_(
    kind: Annotated[str, typer.Argument(help="entities or inspectors")],
    file: Annotated[Path, typer.Argument(help="CSV (UTF-8, UTF-8 BOM, GB18030) or .jsonl")],
    as_json: Annotated[
        bool, typer.Option("--json", help='Print only {"accepted","rejected","rejects_file"}')
    ] = False,
    rejects: Annotated[
        Path | None, typer.Option(help="Rejects file (default: FILE.rejects.jsonl)")
    ] = None,
    chunk_rows: Annotated[int, typer.Option(help="Records per request")] = 50_000,
    parallel: Annotated[
        int, typer.Option(help="Chunks in flight at once (one more than the worker processes)")
    ] = 3,
) -> None:
    """Import a file into the entity directory or the inspector roster (idempotent)."""
    from contracts.common import Role
    from spotcheck.client import Api, ApiError

    if kind not in ("entities", "inspectors"):
        typer.echo("kind must be entities or inspectors", err=True)
        raise typer.Exit(2)
    if not file.is_file():
        typer.echo(f"no such file: {file}", err=True)
        raise typer.Exit(2)
    rejects_path = rejects or file.with_name(file.name + ".rejects.jsonl")
    api = Api("registry", role=Role.REGISTRY_OWNER, timeout=600)
    try:
        if as_json:
            summary = run_import(
                api, kind, file, rejects_path, rows_per_chunk=chunk_rows, parallel=parallel
            )
        else:
            from rich.progress import (
                BarColumn,
                MofNCompleteColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
                TimeRemainingColumn,
            )

            total = count_records(file)
            started = time.monotonic()
            with Progress(
                TextColumn("[bold]{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[rate]} rows/s"),
                TimeElapsedColumn(),
                TextColumn("ETA"),
                TimeRemainingColumn(),
            ) as progress:
                task = progress.add_task(f"import {kind}", total=total, rate="-")

                def advance(rows: int) -> None:
                    progress.advance(task, rows)
                    done = progress.tasks[task].completed
                    rate = done / max(1e-6, time.monotonic() - started)
                    progress.update(task, rate=f"{rate:,.0f}")

                summary = run_import(
                    api,
                    kind,
                    file,
                    rejects_path,
                    rows_per_chunk=chunk_rows,
                    parallel=parallel,
                    on_chunk=advance,
                )
    except ApiError as exc:
        typer.echo(f"spotcheck registry import: {exc}", err=True)
        for d in exc.details[:20]:
            typer.echo(f"  {d}", err=True)
        raise typer.Exit(1) from None
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "accepted": summary["accepted"],
                    "rejected": summary["rejected"],
                    "rejects_file": str(rejects_path),
                },
                ensure_ascii=False,
            )
        )
        return
    typer.echo(
        f"accepted {summary['accepted']:,}  rejected {summary['rejected']:,} "
        f"(duplicates {summary['duplicates']:,})  changed {summary['changed']:,}"
    )
    typer.echo(f"rejects: {rejects_path}")


@app.command()
def generate(
    entities: Annotated[int, typer.Option(help="Number of entities")] = 10_000,
    inspectors: Annotated[int, typer.Option(help="Number of inspectors")] = 200,
    province: Annotated[str, typer.Option(help="Province code prefix (36 = 江西)")] = "36",
    bad: Annotated[float, typer.Option(help="Share of invalid rows, e.g. 0.01")] = 0.0,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same files)")] = 2026,
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("."),
) -> None:
    """Write realistic synthetic entities.csv and inspectors.csv."""
    from services.registry.library import synthetic

    if not 0.0 <= bad < 1.0:
        typer.echo("--bad must be in [0, 1)", err=True)
        raise typer.Exit(2)
    out.mkdir(parents=True, exist_ok=True)
    entities_path = out / "entities.csv"
    pool: list[str] = []
    with entities_path.open("w", encoding="utf-8", newline="") as f:
        counts = synthetic.write_entities(f, entities, province=province, bad=bad, seed=seed)
    with entities_path.open(encoding="utf-8") as f:
        f.readline()
        for _ in range(min(entities, 50)):
            line = f.readline()
            if line:
                pool.append(line.split(",", 1)[0])
    inspectors_path = out / "inspectors.csv"
    with inspectors_path.open("w", encoding="utf-8", newline="") as f:
        icounts = synthetic.write_inspectors(
            f, inspectors, province=province, bad=bad, seed=seed, recusal_pool=pool
        )
    typer.echo(
        f"{entities_path}: {counts.rows:,} entities ({counts.bad:,} invalid on purpose)\n"
        f"{inspectors_path}: {icounts.rows:,} inspectors ({icounts.bad:,} invalid on purpose)"
    )
