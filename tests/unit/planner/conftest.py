"""Small rule sets written inline, and the shipped one."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from services.planner.domain.engine import RuleEngine
from services.planner.domain.ruleset import RuleSet, load_ruleset
from services.planner.rulefiles import read_rule_dir

ROOT = Path(__file__).resolve().parents[3]

META = """\
ruleset:
  name: 测试规则
  departments:
    - {code: SCJG, name: 市场监管}
    - {code: SW, name: 税务}
  risk_classes:
    - {code: A, name: 低}
    - {code: B, name: 一般}
    - {code: C, name: 较高}
    - {code: D, name: 高}
items:
  - {code: G1, name: 一般事项, department: SCJG, kind: general, legal_basis: 条例,
     methods: [on_site, documents]}
  - {code: P1, name: 重点事项, department: SCJG, kind: priority, legal_basis: 条例,
     methods: [on_site]}
  - {code: T1, name: 税务事项, department: SW, kind: general, legal_basis: 条例,
     methods: [documents]}
"""


def files_with(rules: str, meta: str = META) -> dict[str, bytes]:
    """A rule set of the inline META plus `rules` as rules/r.yaml."""
    return {"00-meta.yaml": meta.encode(), "r.yaml": rules.encode()}


@pytest.fixture(scope="session")
def shipped_files() -> dict[str, bytes]:
    return read_rule_dir(ROOT / "rules")


@pytest.fixture(scope="session")
def shipped(shipped_files: dict[str, bytes]) -> RuleSet:
    return load_ruleset(shipped_files)


@pytest.fixture(scope="session")
def shipped_engine(shipped: RuleSet) -> Iterator[RuleEngine]:
    engine = RuleEngine(shipped)
    yield engine
    engine.close()
