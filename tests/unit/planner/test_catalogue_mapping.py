"""The catalogue export's mapping file (deploy/platforms/hlwjg.yaml, the platforms' shared
format): the shipped one is the default; a province's renamed columns and words apply without
code; a mapping with an error is refused with its file and line, and stops the planner's start."""

from __future__ import annotations

from pathlib import Path

import pytest

from contracts.rules import ItemKind, Method
from services.kit.mapping import MappingInvalid, load_mapping, load_mappings, read_mapping_dir
from services.planner.catalogue_poll import load_export_mapping
from services.planner.domain.export import read_export
from services.planner.domain.export_mapping import DEFAULT_MAPPING, VOCABULARY, export_mapping
from services.planner.settings import PlannerSettings
from tests.catalogue_exports import DEPTS, ROOT, as_csv, shipped_rows

SHIPPED = ROOT / "deploy" / "platforms" / "hlwjg.yaml"


def test_the_shipped_mapping_is_the_default() -> None:
    loaded = load_mappings(read_mapping_dir(SHIPPED.parent), VOCABULARY, direction="inbound")
    assert list(loaded) == ["hlwjg"]
    mapping = export_mapping(loaded["hlwjg"])
    assert dict(mapping.fields) == dict(DEFAULT_MAPPING.fields)
    assert dict(mapping.kinds) == dict(DEFAULT_MAPPING.kinds)
    assert dict(mapping.methods) == dict(DEFAULT_MAPPING.methods)
    assert mapping.departments == {name: code for code, name in DEPTS.items()}
    assert load_export_mapping(PlannerSettings(platforms_dir=str(SHIPPED.parent))) == mapping
    assert load_export_mapping(PlannerSettings()) is DEFAULT_MAPPING


def province(text: str, tmp_path: Path) -> Path:
    (tmp_path / "hlwjg.yaml").write_text(text, encoding="utf-8")
    return tmp_path


def test_a_provinces_changed_mapping_applies_without_code(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    text = text.replace("name: 事项编码", "name: 监管事项编码").replace(
        "name: 实施部门", "name: 实施主体"
    )
    text = text.replace("SCJG: 昌江区市场监督管理局", "SCJG: '11360202MB1234567X'")
    text = text.replace("general: 一般检查事项", "general: 一般")
    text = text.replace("on_site: 现场检查", "on_site: 实地核查")
    mapping = load_export_mapping(PlannerSettings(platforms_dir=str(province(text, tmp_path))))
    header = ["监管事项编码", "事项名称", "实施主体", "检查类别", "检查方式", "设定依据"]
    rows = shipped_rows()[:2]
    for r in rows:
        r[2], r[3], r[4] = "11360202MB1234567X", "一般", "实地核查"
    items, _ = read_export(
        as_csv(rows, header).encode("gb18030"), name="x.csv", departments=DEPTS, mapping=mapping
    )
    assert [(i.code, i.department, i.kind, i.methods) for i in items] == [
        ("SCJG-001", "SCJG", ItemKind.GENERAL, (Method.ON_SITE,)),
        ("SCJG-002", "SCJG", ItemKind.GENERAL, (Method.ON_SITE,)),
    ]


def test_a_mapping_with_an_error_is_refused_with_its_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    lines = text.splitlines()
    broken = text.replace("from: legal_basis", "from: legal_bassis").replace(
        "    priority: 重点检查事项\n", ""
    )
    at = broken.splitlines()
    typo = at.index("        from: legal_bassis") + 1
    kinds = at.index("  item_kinds:") + 1  # the list that leaves out a kind
    with pytest.raises(MappingInvalid) as caught:
        load_export_mapping(PlannerSettings(platforms_dir=str(province(broken, tmp_path))))
    got = sorted((e.file, e.line) for e in caught.value.errors)
    assert got == [("hlwjg.yaml", kinds), ("hlwjg.yaml", typo)]
    reasons = " ".join(e.reason for e in caught.value.errors)
    assert "legal_bassis" in reasons and "does not map 'priority'" in reasons

    # A mapping without the fields every item needs is refused naming its file.
    thin = "\n".join(x for x in lines if "legal_basis" not in x and "设定依据" not in x) + "\n"
    loaded = load_mapping("hlwjg.yaml", thin.encode(), VOCABULARY)
    with pytest.raises(MappingInvalid) as caught:
        export_mapping(loaded)
    assert caught.value.errors[0].file == "hlwjg.yaml"
    assert "legal_basis" in caught.value.errors[0].reason

    # No inbound mapping of that platform in the folder: refused, naming the folder.
    with pytest.raises(MappingInvalid) as caught:
        load_export_mapping(
            PlannerSettings(platforms_dir=str(SHIPPED.parent), catalogue_platform="other")
        )
    assert "no inbound mapping of platform 'other'" in caught.value.errors[0].reason


def test_platforms_check_checks_the_inbound_mapping_too(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from spotcheck.cli import app

    ok = CliRunner().invoke(app, ["platforms", "check", str(SHIPPED.parent)])
    assert ok.exit_code == 0, ok.output
    assert "ok: hlwjg" in ok.output and "ok: gsxt" in ok.output
    for f in SHIPPED.parent.glob("*.yaml"):
        (tmp_path / f.name).write_bytes(f.read_bytes())
    text = SHIPPED.read_text(encoding="utf-8").replace("from: kind", "from: kinds")
    (tmp_path / "hlwjg.yaml").write_text(text, encoding="utf-8")
    line = text.splitlines().index("        from: kinds") + 1
    r = CliRunner().invoke(app, ["platforms", "check", str(tmp_path)])
    assert r.exit_code == 1
    assert f"hlwjg.yaml:{line}: unknown field kinds of record catalogue_item" in r.output
    assert r.output.count("hlwjg.yaml:") == 1
