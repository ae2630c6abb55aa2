"""Building the platforms' adapters: what a mapping names must be there at startup."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.kit.errors import Invalid
from services.kit.mapping import MappingInvalid
from services.publisher.domain.categories import load_categories
from services.publisher.platforms import FileDropAdapter, HttpAdapter, load_platforms

ROOT = Path(__file__).resolve().parents[3]
ENV = {
    "SPOTCHECK_PLATFORM_GSXT_URL": "https://gsxt.example/api/results",
    "SPOTCHECK_PLATFORM_GSXT_TOKEN": "t-gsxt",
    "SPOTCHECK_PLATFORM_ZFW_URL": "https://zfw.example/receive",
}


def _copy(tmp_path: Path) -> Path:
    folder = tmp_path / "platforms"
    folder.mkdir()
    for f in (ROOT / "deploy" / "platforms").glob("*.yaml"):
        (folder / f.name).write_bytes(f.read_bytes())
    (folder / "secrets").mkdir()
    (folder / "secrets" / "zfw.token").write_text("t-zfw\n", encoding="utf-8")
    return folder


def test_the_shipped_mappings_build_one_adapter_each(tmp_path: Path) -> None:
    p = load_platforms(_copy(tmp_path), categories=load_categories(), env=ENV)
    gsxt, zfw, jdpt = p.adapters["gsxt"], p.adapters["zfw"], p.adapters["jdpt"]
    assert isinstance(gsxt, HttpAdapter) and gsxt.headers == {"Authorization": "Bearer t-gsxt"}
    assert isinstance(zfw, HttpAdapter) and zfw.headers == {"Authorization": "Bearer t-zfw"}
    assert isinstance(jdpt, FileDropAdapter)
    assert p.taking("result") == ["gsxt", "jdpt", "zfw"]
    assert p.routes() == {"task": ["jdpt"], "plan": ["jdpt"], "directory_summary": ["jdpt"]}
    assert p.disclosing() == ["gsxt", "zfw"] and sorted(p.inbound) == ["jdpt"]
    assert set(p.in_force()) == {"gsxt", "jdpt", "jdpt inbound", "zfw"}


def test_a_variable_a_mapping_names_must_be_set(tmp_path: Path) -> None:
    env = {k: v for k, v in ENV.items() if k != "SPOTCHECK_PLATFORM_GSXT_TOKEN"}
    with pytest.raises(Invalid, match=r"gsxt\.yaml: SPOTCHECK_PLATFORM_GSXT_TOKEN is not set"):
        load_platforms(_copy(tmp_path), categories=load_categories(), env=env)


def test_a_missing_token_file_is_named(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    (folder / "secrets" / "zfw.token").unlink()
    with pytest.raises(Invalid, match=r"zfw\.yaml: cannot read the token file"):
        load_platforms(folder, categories=load_categories(), env=ENV)


def test_a_bad_file_refuses_them_all(tmp_path: Path) -> None:
    folder = _copy(tmp_path)
    text = (folder / "jdpt.yaml").read_text(encoding="utf-8")
    (folder / "jdpt.yaml").write_text(text.replace("file_format: csv", "file_format: xls"))
    with pytest.raises(MappingInvalid) as caught:
        load_platforms(folder, categories=load_categories(), env=ENV)
    [err] = caught.value.errors
    assert err.file == "jdpt.yaml" and err.reason.startswith("transport.file_format:")
    assert err.line == text.splitlines().index("  file_format: csv") + 1


def test_a_missing_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(Invalid, match=r"mapping folder .* does not exist"):
        load_platforms(tmp_path / "nowhere", categories=load_categories(), env=ENV)


def test_a_url_a_variable_names_must_be_http(tmp_path: Path) -> None:
    # Refused at the start, like an unset variable: not first at the first delivery.
    env = {**ENV, "SPOTCHECK_PLATFORM_ZFW_URL": "zfw.example/receive"}
    with pytest.raises(Invalid, match=r"zfw\.yaml: SPOTCHECK_PLATFORM_ZFW_URL is not an http"):
        load_platforms(_copy(tmp_path), categories=load_categories(), env=env)
