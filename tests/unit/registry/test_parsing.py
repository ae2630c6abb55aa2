"""Streaming CSV / JSON Lines readers: encodings, headers, line numbers, duplicates."""

from __future__ import annotations

import io

import pytest

from services.registry.domain import parsing
from services.registry.domain.rows import ENTITY_FIELDS, ENTITY_REQUIRED

HEADER = ",".join(ENTITY_FIELDS)
ROW = (
    "91360202MA3500000A,昌江瓷业有限公司,企业,360202,C3074,存续,0,B,2025-03-01,"
    "食品经营,,珠山路1号,2010-05-20"
)


def read(data: bytes) -> list[parsing.RawRow | parsing.BadRow]:
    encoding = parsing.detect_encoding(data[: parsing.SAMPLE_BYTES])
    stream = io.TextIOWrapper(io.BytesIO(data), encoding=encoding, newline="")
    return list(parsing.read_csv(stream, ENTITY_FIELDS, ENTITY_REQUIRED))


@pytest.mark.parametrize(
    ("encode", "expected"),
    [
        (lambda s: s.encode("utf-8"), "utf-8"),
        (lambda s: b"\xef\xbb\xbf" + s.encode("utf-8"), "utf-8-sig"),
        (lambda s: s.encode("gb18030"), "gb18030"),
    ],
)
def test_encodings(encode, expected: str) -> None:  # type: ignore[no-untyped-def]
    data = encode(f"{HEADER}\r\n{ROW}\r\n")
    assert parsing.detect_encoding(data) == expected
    (row,) = read(data)
    assert isinstance(row, parsing.RawRow)
    assert row.line == 2
    assert row.values[1] == "昌江瓷业有限公司"
    assert row.values[0] == "91360202MA3500000A"  # no BOM glued to the first value


def test_utf8_cut_in_the_middle_of_a_character_is_still_utf8() -> None:
    data = ("名" * 10).encode("utf-8")[:-1]
    assert parsing.detect_encoding(data) == "utf-8"


def test_chinese_headers_and_missing_optional_columns() -> None:
    data = (
        "统一社会信用代码,名称,主体类型,区划代码,行业代码\n"
        "91360202MA3500000A,甲,企业,360202,C3074\n"
    )
    (row,) = read(data.encode("gb18030"))
    assert isinstance(row, parsing.RawRow)
    assert row.values[:5] == ["91360202MA3500000A", "甲", "企业", "360202", "C3074"]
    assert row.values[5:] == [""] * 8


@pytest.mark.parametrize(
    ("header", "fragment"),
    [
        ("uscc,name,entity_type,region_code", "missing columns: industry_code"),
        (HEADER + ",colour", "unknown column 'colour'"),
        (HEADER + ",uscc", "appears twice"),
        ("", "empty"),
    ],
)
def test_bad_headers_refuse_the_file(header: str, fragment: str) -> None:
    with pytest.raises(parsing.FileProblem) as info:
        read(f"{header}\n".encode() if header else b"")
    assert fragment in info.value.en
    assert info.value.zh


def test_line_numbers_count_multiline_fields_and_skip_blank_lines() -> None:
    quoted = ROW.replace("珠山路1号", '"珠山路\n1号"')
    data = f"{HEADER}\n{quoted}\n\n{ROW}\n1,2,3\n".encode()
    rows = read(data)
    assert [r.line for r in rows] == [2, 5, 6]
    assert isinstance(rows[2], parsing.BadRow)
    assert rows[2].errors[0].field == "_row"
    assert isinstance(rows[0], parsing.RawRow) and rows[0].values[11] == "珠山路\n1号"


def test_json_lines() -> None:
    lines = [
        '{"uscc": "91360202MA3500000A", "name": "甲", "tags": ["食品经营"], "abnormal": true}',
        "",
        "not json",
        "[1, 2]",
        '{"uscc": "x", "colour": "red"}',
        '{"uscc": "x", "name": ["a"]}',
        '{"统一社会信用代码": "91360202MA3500000A"}',
    ]
    rows = list(parsing.read_jsonl(lines, ENTITY_FIELDS))
    assert [r.line for r in rows] == [1, 3, 4, 5, 6, 7]
    ok = rows[0]
    assert isinstance(ok, parsing.RawRow)
    assert ok.values[9] == ["食品经营"] and ok.values[6] is True and ok.values[2] is None
    assert [type(r).__name__ for r in rows[1:]] == ["BadRow"] * 4 + ["RawRow"]
    bad_field = rows[3]
    assert isinstance(bad_field, parsing.BadRow) and bad_field.errors[0].field == "colour"


def test_json_lines_of_a_chunk_keep_their_numbers_across_unicode_line_separators() -> None:
    from services.registry.commands import staging as stager

    text = (
        '{"uscc": "91360202MA3500000A", "name": "甲\u2028乙", "address": "丙\u0085丁"}\n'
        '{"uscc": "91360202MA3500001D", "name": "戊"}\r\n'
        "not json\n"
    )
    rows, shift = stager.raw_rows("entities", text, 40, "jsonl")
    got = [(type(r).__name__, r.line + shift) for r in rows]
    assert got == [("RawRow", 40), ("RawRow", 41), ("BadRow", 42)]


def test_duplicate_groups_stream_over_sorted_pairs() -> None:
    pairs = [("A", 3), ("A", 9), ("B", 1), ("C", 2), ("C", 4), ("C", 5)]
    assert list(parsing.duplicate_groups(pairs)) == [("A", [3, 9]), ("C", [2, 4, 5])]
    assert list(parsing.duplicate_groups([])) == []
    err = parsing.duplicate_error("uscc", "A", [3, 9])
    assert err.field == "uscc" and "3, 9" in err.en and "3, 9" in err.zh
