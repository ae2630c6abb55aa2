"""Which rule set a planner copy uses: the one its store says is active now, compiled once per
version (the active-rules cache over a fake store; the real one: tests/integration/planner)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.kit.errors import Conflict
from services.planner import active
from services.planner.active import CACHED_VERSIONS, ActiveRules
from services.planner.domain.ruleset import load_ruleset, version_of

from .conftest import files_with

RULES = """\
rules:
  - id: cap
    name: 上限
    effective: {{from: 2026-01-01}}
    when: {{item_kind: general}}
    then: {{cap_ratio: "{cap}%"}}
"""


def rule_files(cap: int) -> dict[str, str]:
    return {p: b.decode() for p, b in files_with(RULES.format(cap=cap)).items()}


class FakeStore:
    """The two reads the planner makes of its store before a plan."""

    def __init__(self) -> None:
        self.active: str | None = None
        self.versions: dict[str, dict[str, str]] = {}
        self.reads = 0

    def activate(self, files: dict[str, str]) -> str:
        version = version_of({p: t.encode() for p, t in files.items()})
        self.versions[version] = files
        self.active = version
        return version

    async def active_version(self, conn: Any = None) -> str | None:
        self.reads += 1
        return self.active

    async def version_files(self, version: str) -> dict[str, str] | None:
        return self.versions.get(version)


@pytest.fixture
async def planner() -> AsyncIterator[tuple[ActiveRules, FakeStore]]:
    store = FakeStore()
    p = ActiveRules(store=store)  # type: ignore[arg-type]
    yield p, store
    await p.close()


@pytest.fixture
def compiles(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The versions the planner tries to compile, in order."""
    seen: list[str] = []

    def counting(files: dict[str, bytes]) -> Any:
        seen.append(version_of(files))
        return load_ruleset(files)

    monkeypatch.setattr(active, "load_ruleset", counting)
    return seen


async def test_every_request_asks_the_store_and_compiles_a_version_once(
    planner: tuple[ActiveRules, FakeStore], compiles: list[str]
) -> None:
    p, store = planner
    with pytest.raises(Conflict, match="no rule set is active"):
        await p.current()
    first = store.activate(rule_files(5))
    pair = await p.current()
    assert pair[0].version == first and await p.current() is pair
    second = store.activate(rule_files(4))  # activated by another copy
    assert (await p.current())[0].version == second
    store.activate(rule_files(5))  # a rollback: compiled already
    assert await p.current() is pair
    assert compiles == [first, second] and store.reads == 5


async def test_requests_waiting_for_a_new_version_share_one_compile(
    planner: tuple[ActiveRules, FakeStore], compiles: list[str]
) -> None:
    p, store = planner
    version = store.activate(rule_files(5))
    pairs = await asyncio.gather(*(p.current() for _ in range(5)))
    assert all(pair is pairs[0] for pair in pairs) and compiles == [version]


async def test_old_versions_leave_the_cache_and_the_active_one_stays(
    planner: tuple[ActiveRules, FakeStore], compiles: list[str]
) -> None:
    p, store = planner
    versions = []
    for cap in range(1, CACHED_VERSIONS + 3):
        versions.append(store.activate(rule_files(cap)))
        await p.current()
    assert p.compiled_versions == versions[-CACHED_VERSIONS:]
    store.activate(rule_files(1))  # retired: compiled again
    await p.current()
    assert compiles == [*versions, versions[0]]
    assert p.compiled_versions[-1] == versions[0]


async def test_an_active_version_that_fails_the_check_is_refused_every_time(
    planner: tuple[ActiveRules, FakeStore], compiles: list[str]
) -> None:
    p, store = planner
    good = store.activate(rule_files(5))
    await p.current()
    bad = rule_files(105)  # stored by a copy with a laxer check, or edited in the database
    store.versions["bad"] = bad
    store.active = "bad"
    for _ in range(2):
        with pytest.raises(Conflict) as err:
            await p.current()
        assert err.value.code == "rules_unusable" and "bad" in err.value.message
    assert compiles == [good, version_of({k: v.encode() for k, v in bad.items()})]  # tried once
    assert p.compiled_versions == [good]
    store.active = good
    assert (await p.current())[0].version == good


async def test_stored_files_that_do_not_hash_to_their_version_are_refused(
    planner: tuple[ActiveRules, FakeStore], compiles: list[str]
) -> None:
    p, store = planner
    store.activate(rule_files(5))
    edited = "0" * 64
    store.versions[edited] = rule_files(4)  # a row whose files were changed after activation
    store.active = edited
    with pytest.raises(Conflict, match="hash to") as err:
        await p.current()
    assert err.value.code == "rules_unusable" and edited not in p.compiled_versions
