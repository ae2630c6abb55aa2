"""tools/verify_draw.py as a third party runs it: files, directories, URLs, exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.unit.draw.conftest import ROOT

TOOL = ROOT / "tools" / "verify_draw.py"


def _publish(v: dict[str, Any], where: Path) -> Path:
    """Write the record without inline lists and the lists as <stratum_id>.txt files."""
    lists = where / "lists"
    lists.mkdir()
    record = {"spec": v["spec"], "draw_id": "D-1", "plan_id": "P-1", "rules_version": "r"}
    record |= {
        "seed": v["seed"],
        "seed_source": "dice",
        "commitment_sha256": v["commitment_sha256"],
    }
    record["strata"] = []
    for s in v["strata"]:
        (lists / f"{s['stratum_id']}.txt").write_bytes(
            "".join(u + "\n" for u in s["candidates"]).encode()
        )
        keep = ("stratum_id", "n", "bp", "k", "candidates_sha256", "selected")
        record["strata"].append({key: s[key] for key in keep})
    path = where / "record.json"
    path.write_text(json.dumps(record), "utf-8")
    return path


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(TOOL), *args], capture_output=True, text=True, check=False
    )


def test_ok_with_directory_and_files(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    r = _run(str(record), str(tmp_path / "lists"))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("OK D-1 2 strata, 5 selected")
    files = sorted(str(p) for p in (tmp_path / "lists").iterdir())
    assert _run(str(record), *files).returncode == 0


def test_ok_with_file_urls(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    base = (tmp_path / "lists").as_uri() + "/"
    r = _run(record.as_uri(), base)
    assert r.returncode == 0, r.stdout + r.stderr
    r = _run(record.as_uri(), base + "{stratum_id}.txt")
    assert r.returncode == 0, r.stdout + r.stderr


def test_tampered_list_is_a_difference(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    f = tmp_path / "lists" / "2023.SCJG-001.D.360203.txt"
    f.write_bytes(f.read_bytes().replace(b"92360203L00000004J\n", b""))
    r = _run(str(record), str(tmp_path / "lists"))
    assert r.returncode == 1
    assert r.stdout.startswith("DIFFERENCE: stratum 2023.SCJG-001.D.360203: candidates_sha256")


def test_crlf_list_is_a_difference(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    f = tmp_path / "lists" / "2023.SCJG-001.D.360203.txt"
    f.write_bytes(f.read_bytes().replace(b"\n", b"\r\n"))
    r = _run(str(record), str(tmp_path / "lists"))
    assert r.returncode == 1 and "\\n" in r.stdout


def test_missing_list_is_an_error(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    r = _run(str(record))
    assert r.returncode == 2
    assert "no candidate list" in r.stderr


def test_uscc_prints_ticket_and_cutoff(shared_vectors: dict[str, Any], tmp_path: Path) -> None:
    record = _publish(shared_vectors, tmp_path)
    r = _run(str(record), str(tmp_path / "lists"), "--uscc", "91360202MA3500000A")
    assert r.returncode == 0
    line = r.stdout.splitlines()[0].split("\t")
    s = shared_vectors["strata"][0]
    assert line[2] == "ticket " + s["tickets"]["91360202MA3500000A"]
    assert line[3] == "cut-off " + s["tickets"][s["selected"][-1]]
    assert line[4] == "-"


def test_parties_seed_is_rederived(own_vectors: dict[str, Any], tmp_path: Path) -> None:
    ex = own_vectors["parties_example"]
    from services.draw.domain import spec

    usccs = own_vectors["strata"][0]["candidates"]
    sid = own_vectors["strata"][0]["stratum_id"]
    d = spec.draw_stratum(ex["seed"], sid, usccs, bp=1000)
    rec = {
        "seed": ex["seed"],
        "seed_source": "parties",
        "seed_parties": ex["parties"],
        "commitment_sha256": spec.commitment_sha256(
            [spec.CommittedStratum(sid, d.n, d.k, d.candidates_sha256)]
        ),
        "strata": [
            {
                "stratum_id": sid,
                "n": d.n,
                "bp": 1000,
                "k": d.k,
                "candidates_sha256": d.candidates_sha256,
                "candidates": usccs,
                "selected": list(d.selected),
            }
        ],
    }
    p = tmp_path / "r.json"
    p.write_text(json.dumps(rec), "utf-8")
    assert _run(str(p)).returncode == 0
    rec["seed_parties"][0]["secret"] = "someone-changed-it"
    p.write_text(json.dumps(rec), "utf-8")
    r = _run(str(p))
    assert r.returncode == 1 and "does not match its commitment" in r.stdout


def test_the_tool_imports_only_the_standard_library() -> None:
    src = TOOL.read_text("utf-8")
    imports = {
        line.split()[1].split(".")[0]
        for line in src.splitlines()
        if line.startswith(("import ", "from "))
    }
    assert imports <= set(sys.stdlib_module_names) | {"__future__"}, imports
