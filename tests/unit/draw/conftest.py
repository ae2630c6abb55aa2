"""Shared helpers of the draw unit tests: the reference vectors and the stand-alone verifier."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[3]
# The reference vectors of spec spotcheck-draw/1, copied from ../shared/notes so that a clone
# is complete on its own; test_vectors_copy.py keeps the copy equal to the shared original.
SHARED_VECTORS = ROOT / "tests" / "data" / "draw-vectors.json"
SPEC_DOC = ROOT / "docs" / "draw-spec.md"


def load_verifier() -> ModuleType:
    """`tools/verify_draw.py`, loaded from its file as a third party would run it."""
    spec = importlib.util.spec_from_file_location("verify_draw", ROOT / "tools" / "verify_draw.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def verifier() -> ModuleType:
    return load_verifier()


@pytest.fixture(scope="session")
def shared_vectors() -> dict[str, Any]:
    if not SHARED_VECTORS.exists():
        pytest.fail(f"reference vectors missing: {SHARED_VECTORS}")
    data: dict[str, Any] = json.loads(SHARED_VECTORS.read_text("utf-8"))
    return data


@pytest.fixture(scope="session")
def own_vectors() -> dict[str, Any]:
    """The JSON block of docs/draw-spec.md §10: the vectors we publish."""
    text = SPEC_DOC.read_text("utf-8")
    blocks = re.findall(r"```json\n(.*?)```", text, re.S)
    assert len(blocks) == 1, "docs/draw-spec.md must hold exactly one json block (the vectors)"
    data: dict[str, Any] = json.loads(blocks[0])
    return data
