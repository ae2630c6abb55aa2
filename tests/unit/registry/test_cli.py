"""The command line's file handling: chunks of whole records, encodings, generate."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from typer.testing import CliRunner

from services.registry.domain import parsing
from services.registry.domain.parsing import RawRow
from services.registry.domain.rows import ENTITY_FIELDS, ENTITY_REQUIRED
from spotcheck.commands import registry as cli

HEADER = ",".join(ENTITY_FIELDS)


def _row(i: int, address: str = "珠山路1号") -> str:
    return (
        f"91360202MA350000{i:02d},店{i},企业,360202,C3074,存续,0,B,2025-03-01,,,{address},"
        "2010-05-20"
    )


def test_chunks_keep_records_whole_and_number_lines(tmp_path: Path) -> None:
    lines = [HEADER, _row(0), _row(1, '"珠山路\n1号"'), _row(2), _row(3, '"多行\n地址\n"'), _row(4)]
    path = tmp_path / "e.csv"
    path.write_bytes(("\n".join(lines) + "\n").encode("gb18030"))
    chunks = list(cli.chunks(path, rows_per_chunk=2))
    assert [(c.number, c.first_line, c.rows) for c in chunks] == [(0, 2, 2), (1, 5, 2), (2, 9, 1)]
    seen = []
    for c in chunks:
        assert c.text.startswith(HEADER + "\n")
        rows = list(
            parsing.read_csv(io.StringIO(c.text, newline=""), ENTITY_FIELDS, ENTITY_REQUIRED)
        )
        seen += [(r.line - 2 + c.first_line, r.values[1]) for r in rows if isinstance(r, RawRow)]
    assert seen == [(2, "店0"), (3, "店1"), (5, "店2"), (6, "店3"), (9, "店4")]


def test_jsonl_chunks(tmp_path: Path) -> None:
    path = tmp_path / "e.jsonl"
    path.write_text("".join(f'{{"uscc": "{i}"}}\n' for i in range(5)), encoding="utf-8")
    chunks = list(cli.chunks(path, rows_per_chunk=3))
    assert [(c.first_line, c.rows) for c in chunks] == [(1, 3), (4, 2)]
    assert cli.count_records(path) == 5


def test_generate_command(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli.app,
        [
            "generate",
            "--entities",
            "300",
            "--inspectors",
            "20",
            "--bad",
            "0.1",
            "--out",
            str(tmp_path),
        ],
    )
    assert result.exit_code == 0, result.output
    with (tmp_path / "entities.csv").open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 300 and set(rows[0]) == set(ENTITY_FIELDS)
    assert (tmp_path / "inspectors.csv").read_text(encoding="utf-8").count("\n") == 21
    bad = CliRunner().invoke(cli.app, ["generate", "--bad", "1.5", "--out", str(tmp_path)])
    assert bad.exit_code == 2


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_chunks_in_small_pieces_mix_fast_and_careful_cutting(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, encoding: str
) -> None:
    # plain stretches, a quoted field across lines, CRLF endings, no final line end
    lines = [HEADER] + [_row(i) for i in range(40)]
    lines[12] = _row(11, '"多行\n地址"')
    lines[25] = _row(24) + "\r"
    path = tmp_path / "e.csv"
    path.write_text("\n".join(lines), encoding=encoding)
    original = cli._pieces
    monkeypatch.setattr(cli, "_pieces", lambda p: original(p, size=37))
    chunks = list(cli.chunks(path, rows_per_chunk=7))
    assert sum(c.rows for c in chunks) == 40
    assert "".join(c.text[len(HEADER) + 1 :] for c in chunks) == "\n".join(lines[1:])
    seen = []
    for c in chunks:
        rows = list(
            parsing.read_csv(io.StringIO(c.text, newline=""), ENTITY_FIELDS, ENTITY_REQUIRED)
        )
        assert len(rows) == c.rows
        seen += [(r.line - 2 + c.first_line, r.values[1]) for r in rows if isinstance(r, RawRow)]
    # line numbers: the quoted record takes two lines
    assert seen == [(i + 2 if i < 12 else i + 3, f"店{i}") for i in range(40)]
