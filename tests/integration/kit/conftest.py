"""Fixtures of the kit's integration tests beyond tests/integration/conftest.py."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.national import Country, running_country


@pytest.fixture
def country(tmp_path: Path) -> Iterator[Country]:
    """Two provinces and the national NATS, running (tests/national.py)."""
    yield from running_country(tmp_path)
