"""Catalogue exports as 互联网+监管 would give them, built from the shipped rule files: for the
catalogue-import tests (unit, integration, browser)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from contracts.rules import ItemKind
from services.planner.domain.ruleset import load_ruleset
from services.planner.rulefiles import read_rule_dir

ROOT = Path(__file__).resolve().parents[1]
DEPTS = {
    "SCJG": "昌江区市场监督管理局",
    "SW": "国家税务总局景德镇市昌江区税务局",
    "STHJ": "景德镇市生态环境局昌江分局",
}
HEADER = ["事项编码", "事项名称", "实施部门", "检查类别", "检查方式", "设定依据"]


def shipped() -> dict[str, str]:
    """The shipped rule directory as {path: text}."""
    return {p: b.decode() for p, b in read_rule_dir(ROOT / "rules").items()}


def shipped_rows() -> list[list[str]]:
    """The shipped items as 互联网+监管 would export them (department by name)."""
    rs = load_ruleset({p: t.encode() for p, t in shipped().items()})
    words = {ItemKind.GENERAL: "一般检查事项", ItemKind.PRIORITY: "重点检查事项"}
    return [
        [i.code, i.name, DEPTS[i.department], words[i.kind], "现场检查", i.legal_basis]
        for i in rs.items.values()
    ]


def as_csv(rows: list[list[str]], header: list[str] = HEADER) -> str:
    """Rows as a CSV text with its header (CRLF, as spreadsheet exports write)."""
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(rows)
    return out.getvalue()


def changed_export() -> list[list[str]]:
    """The shipped catalogue with SCJG-009 withdrawn, SCJG-002 renamed, SW-002's legal basis
    changed and SCJG-101 added."""
    rows = [r for r in shipped_rows() if r[0] != "SCJG-009"]
    for r in rows:
        if r[0] == "SCJG-002":
            r[1] = "经营主体登记事项的检查"
        if r[0] == "SW-002":
            r[5] = "《中华人民共和国发票管理办法》第三十五条、第三十六条"
    rows.append(
        [
            "SCJG-101",
            "价格行为的检查",
            DEPTS["SCJG"],
            "一般检查事项",
            "现场检查、书面检查",
            "《中华人民共和国价格法》第三十四条",
        ]
    )
    return rows
