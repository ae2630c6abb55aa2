"""Which rule set is active, compiled: the cache both the planner's commands and queries read.

Which rule set is active is recorded in PostgreSQL, never only in one process's memory (DESIGN
§11): every copy of the planner reads the active version (one index row) before it resolves or
simulates a plan or says which rules are active, and compiles that version's stored files when
it has not yet. Compiled versions are cached per version, each with its own durable-rules
`Host`. The `rules.activated` event makes every copy compile a new version at once (a warm-up;
correctness never waits for it).

durable-rules calls block and hold the GIL, so every engine call runs on one worker thread
(`run`), never on the event loop. A plan takes its (RuleSet, RuleEngine) pair once and
resolves wholly under it, so it uses the old or the new version, never a mix.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from services.kit.errors import Conflict
from services.planner.domain.engine import RuleEngine
from services.planner.domain.ruleset import RuleSet, RulesInvalid, load_ruleset
from services.planner.store import PlannerStore

log = logging.getLogger("spotcheck.planner")
T = TypeVar("T")
Compiled = tuple[RuleSet, RuleEngine]

CACHED_VERSIONS = 4
"""Compiled versions one copy keeps: the active one and a few before it, so that a rollback
or a plan still resolving under the previous version costs no recompile."""


class ActiveRules:
    """Compiled rule sets cached per version, over the store that says which one is active."""

    def __init__(self, *, store: PlannerStore) -> None:
        self.store = store
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="rules")
        self._compiled: OrderedDict[str, Compiled] = OrderedDict()
        # Stored versions this copy's check refuses (its code is stricter than the copy that
        # activated them): kept so that every request does not compile them again.
        self._unusable: dict[str, str] = {}
        self._loading = asyncio.Lock()

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking rule-engine call on the one rules thread."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    @property
    def compiled_versions(self) -> list[str]:
        """The versions this copy holds compiled, least recently used first."""
        return list(self._compiled)

    async def close(self) -> None:
        """Stop the worker thread and the engines' timers."""
        for _, engine in self._compiled.values():
            engine.close()
        self._compiled.clear()
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def compile(self, files: dict[str, bytes]) -> Compiled:
        """Check and compile a rule set (`RulesInvalid` with every error); not cached."""

        def build() -> Compiled:
            ruleset = load_ruleset(files)  # raises RulesInvalid with every error
            return ruleset, RuleEngine(ruleset)

        return await self.run(build)

    def _cached(self, version: str) -> Compiled | None:
        pair = self._compiled.get(version)
        if pair is not None:
            self._compiled.move_to_end(version)
        return pair

    def keep(self, pair: Compiled) -> Compiled:
        """Cache a compiled version (the one already cached wins); retire the oldest."""
        version = pair[0].version
        kept = self._cached(version)
        if kept is not None:
            if kept[1] is not pair[1]:
                pair[1].close()
            return kept
        self._compiled[version] = pair
        while len(self._compiled) > CACHED_VERSIONS:
            _, (_, retired) = self._compiled.popitem(last=False)
            retired.close()  # timers only: a plan still holding it keeps working
        return pair

    async def current(self) -> Compiled:
        """The active rule set as PostgreSQL records it now, compiled.

        Asked before every plan, simulation and "which rules are active", by every copy: an
        activation committed by any copy is used by the next request of all of them, whether
        or not its `rules.activated` event has arrived. `Conflict` when none is active.
        """
        active = await self.current_or_none()
        if active is None:
            raise Conflict("no rule set is active: run `spotcheck rules activate`")
        return active

    async def current_or_none(self) -> Compiled | None:
        """The active rule set compiled, or None when none was ever activated."""
        version = await self.store.active_version()
        return None if version is None else await self._version(version)

    async def _version(self, version: str) -> Compiled:
        """A stored version compiled: from the cache, else from its files in PostgreSQL."""
        pair = self._cached(version)
        if pair is not None:
            return pair
        async with self._loading:  # one compile per version, however many requests wait
            pair = self._cached(version)
            if pair is not None:
                return pair
            if version in self._unusable:
                raise _unusable(version, self._unusable[version])
            stored = await self.store.version_files(version)
            if stored is None:
                raise Conflict(f"rule set {version} is active but its files are not stored")
            try:
                pair = await self.compile({p: t.encode("utf-8") for p, t in stored.items()})
            except RulesInvalid as exc:
                self._unusable[version] = exc.message
                log.error("active rule set %s does not pass this copy's check: %s", version, exc)
                raise _unusable(version, exc.message) from None
            if pair[0].version != version:  # the stored files were edited after activation
                pair[1].close()
                self._unusable[version] = f"its stored files hash to {pair[0].version}"
                raise _unusable(version, self._unusable[version])
            return self.keep(pair)


def _unusable(version: str, why: str) -> Conflict:
    return Conflict(
        f"the active rule set {version} cannot be used by this planner ({why}):"
        " activate a rule set that passes `spotcheck rules check`",
        code="rules_unusable",
    )
