"""Shipped code tables: GB/T 2260 regions and GB/T 4754-2017 industries.

Both are versioned data files under `services/registry/data/` with their edition and source.
They are read once per process (`regions()`, `industries()`); look-ups are dict/set operations.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Final

DATA_DIR: Final = Path(__file__).resolve().parent.parent / "data"
REGIONS_FILE: Final = DATA_DIR / "regions_gbt2260_2026.json"
INDUSTRIES_FILE: Final = DATA_DIR / "industries_gbt4754_2017.json"


@dataclass(frozen=True, slots=True)
class Code:
    """One row of a code table."""

    code: str
    name: str
    level: str
    parent: str


@dataclass(frozen=True)
class CodeTable:
    """A code table: its standard, edition, source and rows by code."""

    standard: str
    edition: int
    source: str
    by_code: dict[str, Code]

    def __contains__(self, code: object) -> bool:
        return code in self.by_code

    def __len__(self) -> int:
        return len(self.by_code)

    def get(self, code: str) -> Code | None:
        """The row for `code`, or None."""
        return self.by_code.get(code)

    def at_level(self, level: str) -> list[Code]:
        """Every row of one level, in code order."""
        return sorted((c for c in self.by_code.values() if c.level == level), key=_key)

    def children(self, code: str) -> list[Code]:
        """Direct children of `code`, in code order."""
        return sorted((c for c in self.by_code.values() if c.parent == code), key=_key)


def _key(c: Code) -> str:
    return c.code


def _load(path: Path) -> CodeTable:
    raw: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    if raw["columns"] != ["code", "name", "level", "parent"]:
        raise ValueError(f"{path.name}: unexpected columns {raw['columns']}")
    by_code = {r[0]: Code(r[0], r[1], r[2], r[3]) for r in raw["rows"]}
    return CodeTable(
        standard=raw["standard"], edition=int(raw["edition"]), source=raw["source"], by_code=by_code
    )


@cache
def regions() -> CodeTable:
    """GB/T 2260 region table (all of China), 6-digit codes; levels province/prefecture/county."""
    return _load(REGIONS_FILE)


@cache
def industries() -> CodeTable:
    """GB/T 4754-2017 industry table; codes are the 门类 letter plus digits (C, C13, C131, C1311).

    Levels: section (门类), division (大类), group (中类), class (小类).
    """
    return _load(INDUSTRIES_FILE)


@cache
def _section_of_division() -> dict[str, str]:
    return {c.code[1:]: c.code[0] for c in industries().at_level("division")}


def canonical_industry(raw: str) -> str | None:
    """The canonical form of an industry code as people write it, or None if it is unknown.

    Accepts the letter-prefixed form ("C1311", "c1311") and the bare digits of GB/T 4754
    ("1311", "13"); bare digits get the letter of their 大类. A letter that does not match the
    digits ("A1311") is refused rather than corrected.
    """
    code = raw.strip().upper()
    if not code:
        return None
    if code[0].isdigit():
        section = _section_of_division().get(code[:2])
        if section is None:
            return None
        code = section + code
    return code if code in industries() else None


def province_codes() -> list[str]:
    """Two-digit prefixes of every province-level region."""
    return [c.code[:2] for c in regions().at_level("province")]


def counties_in(prefix: str) -> list[str]:
    """County-level region codes starting with `prefix` (e.g. "36" for Jiangxi), in code order.

    Prefecture-level cities without counties (东莞市 441900) count as their own county level,
    because entities there are registered under that code.
    """
    table = regions()
    out = [
        c.code for c in table.by_code.values() if c.level == "county" and c.code.startswith(prefix)
    ]
    for c in table.by_code.values():
        if c.level == "prefecture" and c.code.startswith(prefix) and not table.children(c.code):
            out.append(c.code)
    return sorted(out)
