"""BENCHMARKS.md is what `bench/assemble.py` makes of the notes in bench/results/: a figure
edited in one place only would be lost at the next assembly."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_benchmarks_md_is_the_assembled_notes() -> None:
    spec = importlib.util.spec_from_file_location("assemble", ROOT / "bench" / "assemble.py")
    assert spec is not None and spec.loader is not None
    assemble = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(assemble)
    written = (ROOT / "BENCHMARKS.md").read_text(encoding="utf-8")
    assert written == assemble.render(), "edit bench/results/*.md, then: python bench/assemble.py"
