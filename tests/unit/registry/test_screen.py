"""The column screen never passes a line the validator would refuse or write differently."""

from __future__ import annotations

import io
import random
from datetime import date
from typing import Any

from services.registry.domain import screen, synthetic
from services.registry.domain.rows import Vocabulary, validate_entity

VOCAB = Vocabulary()
# Texts that are tricky for one field or another: whitespace PostgreSQL would keep and
# str.strip() would not, other forms the validator normalises, near-misses of every rule.
TRICKY = [
    "",
    " ",
    "\u3000",
    "\xa0",
    "\u2003",
    "\x1c",
    "是",
    "否",
    "1",
    "0",
    "true",
    "b",
    "B",
    "E",
    "A",
    "c3074",
    "C3074",
    "3074",
    "C307",
    "999999",
    "360202",
    "3602021",
    "36020",
    "存续",
    " 存续",
    "吊销",
    "企业",
    "企业 ",
    "个体工商户",
    "2024-02-29",
    "2023-02-29",
    "2023-02-28",
    "1899-12-31",
    "2024-13-01",
    "2024-1-01",
    "２０２４-01-01",
    "食品经营",
    "食品经营;食品经营",
    "食品经营；特种设备使用",
    "食品经营; 网络交易",
    "食品经营;",
    "a" * 32,
    "a" * 33,
    "名" * 66,
    "名" * 67,
    "名" * 201,
    "景德镇\u3000瓷业",
    "\u3000景德镇瓷业",
    "景德镇瓷业\u3000",
    "景德镇瓷业\xa0",
    "〇号店",
    "店〇",
    "x\u2028",
]


def canonical_record(fields: list[str]) -> tuple[Any, ...]:
    """What PostgreSQL makes of a screened line with `screen.CANONICAL_SQL` (empty is NULL)."""
    v = [f if f != "" else None for f in fields]

    def day(x: str | None) -> date | None:
        return date.fromisoformat(x) if x is not None else None

    def labels(x: str | None) -> list[str]:
        return x.split(";") if x is not None else []

    return (
        v[0],
        v[1],
        v[2],
        v[3],
        v[4],
        v[5] if v[5] is not None else "存续",
        v[6] == "1",
        v[7],
        day(v[8]),
        labels(v[9]),
        labels(v[10]),
        v[11] if v[11] is not None else "",
        day(v[12]),
    )


def lines_of(count: int, seed: int) -> list[str]:
    out = io.StringIO()
    synthetic.write_entities(out, count, seed=seed)
    return out.getvalue().splitlines()[1:]


def test_canonical_files_pass_whole() -> None:
    lines = lines_of(5000, seed=3)
    suspect = screen.screen_entities(("\n".join(lines) + "\n").encode(), VOCAB)
    assert len(suspect) == 0


def test_every_passed_line_is_what_the_validator_makes_of_it() -> None:
    rng = random.Random(11)
    base = lines_of(400, seed=4)
    lines = []
    for _ in range(6000):
        fields = rng.choice(base).split(",")
        for _ in range(rng.randrange(1, 3)):
            fields[rng.randrange(len(fields))] = rng.choice(TRICKY)
        if rng.random() < 0.05:
            fields.append("extra")
        if rng.random() < 0.05:
            fields[0] = fields[0].lower()
        lines.append(",".join(fields))
    data = ("\n".join(lines) + "\n").encode()
    assert screen.is_plain(data)
    suspect = set(screen.screen_entities(data, VOCAB))
    passed = 0
    for n, line in enumerate(lines):
        if n in suspect:
            continue
        passed += 1
        fields = line.split(",")
        record, errors = validate_entity(fields, VOCAB)
        assert errors == [], (line, errors)
        assert record == canonical_record(fields), line
    # the screen must not be so shy that it passes nothing
    assert passed > 500 and len(suspect) > 2000


def test_refusals_of_whole_lines() -> None:
    good = lines_of(3, seed=5)
    # (a blank line makes a chunk not plain: it is read row by row instead)
    blank = ("\n".join([good[1], "", good[2]]) + "\n").encode()
    assert not screen.is_plain(blank)
    for bad in ("a,b,c", good[0] + ",", good[0].replace(",", "，", 1)):
        data = ("\n".join([good[1], bad, good[2]]) + "\n").encode()
        assert screen.is_plain(data)
        assert screen.screen_entities(data, VOCAB) == [1]


def test_plain_chunks_are_those_read_line_by_line() -> None:
    assert screen.is_plain(b"a\nb\n")
    for text in (b"", b"a\n\nb\n", b'a,"b"\n', b"a\r\n", b"a\x00\n", b"a"):
        assert not screen.is_plain(text)
