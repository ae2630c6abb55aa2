"""Many planner copies on one NATS and one PostgreSQL (DESIGN §11, issue 11 part 5).

Whichever copy activates a rule set, every copy resolves its next plan with it; a refused set
leaves every copy on the good one; concurrent activations leave one active version. The first
test runs real `python -m services.planner` processes; the others run two in-process copies,
which lets them look inside a copy (its compiled versions) and time requests exactly.
"""

from __future__ import annotations

import asyncio
import itertools
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from contracts.common import Role
from services.kit.auth import issue_token, load_or_create_key
from services.planner.active import ActiveRules
from services.planner.app import spec
from services.planner.domain.ruleset import version_of
from spotcheck.embedded import free_port

from .support import ROOT, StatsDouble, shipped_text, with_cap
from .test_planner_service import plan_body

STARTUP_S = 120.0


def _version(files: dict[str, str]) -> str:
    return version_of({p: t.encode() for p, t in files.items()})


def _capped_bps(approved: dict[str, Any]) -> set[int]:
    """The ratios of the strata a general-item cap binds (classes C and D at 3%/2% base)."""
    return {s["bp"] for s in approved["strata"] if s["risk_class"] in ("C", "D")}


async def _until(check: Callable[[], Awaitable[bool]], what: str, timeout: float) -> None:
    """Wait until `check()` holds (polling), or fail naming `what`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        assert loop.time() < deadline, f"{what} did not happen within {timeout:g}s"
        await asyncio.sleep(0.1)


class Copy:
    """One `python -m services.planner` process and an HTTP client on its port."""

    def __init__(self, proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
        self.proc = proc
        self.http = httpx.AsyncClient(base_url=url, timeout=60)
        self.log = log

    async def ready(self) -> bool:
        assert self.proc.poll() is None, f"planner exited:\n{self.log.read_text()}"
        try:
            return (await self.http.get("/readyz")).status_code == 200
        except httpx.TransportError:
            return False


def _start_planner(*, nats_url: str, database_url: str, var: Path, n: int) -> Copy:
    """Start `python -m services.planner` on a free port; its log goes to `var`."""
    port = free_port()
    env = {
        **os.environ,
        "SPOTCHECK_NATS_URL": nats_url,
        "SPOTCHECK_DATABASE_URL": database_url,
        "SPOTCHECK_VAR_DIR": str(var),
        "SPOTCHECK_PLANNER_PORT": str(port),
        "SPOTCHECK_RULES_DIR": str(ROOT / "rules"),
        "SPOTCHECK_LOG_JSON": "false",
        "PYTHONPATH": str(ROOT),
    }
    log = var / f"planner-{n}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.planner"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return Copy(proc, f"http://127.0.0.1:{port}", log)


def _stop(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    for proc in procs:
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@asynccontextmanager
async def planner_processes(
    count: int, *, nats_url: str, database_url: str, var: Path
) -> AsyncIterator[list[Copy]]:
    """`count` planner processes started together on one NATS and one database."""
    load_or_create_key(var / "jwt.key")  # one key for all, made before they race to make it
    copies: list[Copy] = []
    try:
        for n in range(count):
            copies.append(
                _start_planner(nats_url=nats_url, database_url=database_url, var=var, n=n)
            )
        for n, copy in enumerate(copies):
            await _until(copy.ready, f"planner copy {n} ready", STARTUP_S)
        yield copies
    finally:
        for copy in copies:
            await copy.http.aclose()
        _stop([copy.proc for copy in copies])


async def test_a_plan_on_another_planner_process_uses_the_rules_just_activated(
    nats_url: str, database_url: str, tmp_path: Path, stats_double: StatsDouble
) -> None:
    var = tmp_path / "var"
    shipped = shipped_text()
    old = _version(shipped)
    async with planner_processes(
        2, nats_url=nats_url, database_url=database_url, var=var
    ) as copies:
        one, two = copies
        key = load_or_create_key(var / "jwt.key")
        policy = {"Authorization": "Bearer " + issue_token(key, role=Role.POLICY, sub="policy")}
        planner = {
            "Authorization": "Bearer "
            + issue_token(key, role=Role.PLANNER, dept="SCJG", sub="planner")
        }
        for copy in copies:
            assert (await copy.http.get("/rules/active", headers=policy)).json()["version"] == old
        r = await two.http.post("/plans", json=plan_body("P-BEFORE"), headers=planner)
        assert r.status_code == 201, r.text
        assert r.json()["rules_version"] == old

        # Activated through copy 1, then at once a plan through copy 2: the new rules.
        r = await one.http.post(
            "/rules/activate", json={"files": with_cap(shipped, "4%")}, headers=policy
        )
        assert r.status_code == 200, r.text
        new = r.json()["version"]
        assert new != old and r.json()["previous_version"] == old
        r = await two.http.post("/plans", json=plan_body("P-AFTER"), headers=planner)
        assert r.status_code == 201, r.text
        assert r.json()["rules_version"] == new
        approved = (await two.http.get("/plans/P-AFTER", headers=planner)).json()["approved"]
        assert approved["rules_version"] == new
        assert _capped_bps(approved) == {400}  # the new cap, not the old 5%
        before = (await one.http.get("/plans/P-BEFORE", headers=planner)).json()["approved"]
        assert before["rules_version"] == old and _capped_bps(before) == {500}
        assert (await two.http.get("/rules/active", headers=policy)).json()["version"] == new
        # A rejected plan records the version it was checked against too.
        bad = plan_body("P-REJECTED", items=[{"item": "NOPE", "ratio": "3%"}])
        assert (await two.http.post("/plans", json=bad, headers=planner)).status_code == 422
        rejected = (await one.http.get("/plans/P-REJECTED", headers=planner)).json()
        assert rejected["status"] == "rejected" and rejected["rules_version"] == new

        # A refused set (through copy 2) leaves both copies on the good new version.
        r = await two.http.post(
            "/rules/activate", json={"files": with_cap(shipped, "105%")}, headers=policy
        )
        assert r.status_code == 422
        for copy in copies:
            assert (await copy.http.get("/rules/active", headers=policy)).json()["version"] == new
        r = await one.http.post("/plans", json=plan_body("P-REFUSED"), headers=planner)
        assert r.json()["rules_version"] == new

        # Two copies activating at once: both recorded, chained, one version active everywhere.
        answers = await asyncio.gather(
            one.http.post(
                "/rules/activate", json={"files": with_cap(shipped, "3%")}, headers=policy
            ),
            two.http.post(
                "/rules/activate", json={"files": with_cap(shipped, "3.5%")}, headers=policy
            ),
        )
        assert [a.status_code for a in answers] == [200, 200]
        history = (await one.http.get("/rules/history", headers=policy)).json()
        last, before_last = history[0], history[1]
        assert before_last["previous_version"] == new
        assert last["previous_version"] == before_last["version"]
        assert {last["version"], before_last["version"]} == {a.json()["version"] for a in answers}
        for n, copy in enumerate(copies):
            active = (await copy.http.get("/rules/active", headers=policy)).json()["version"]
            assert active == last["version"]
            r = await copy.http.post("/plans", json=plan_body(f"P-LAST-{n}"), headers=planner)
            assert r.json()["rules_version"] == last["version"]

        # Two copies started together on an empty database activated `rules/` once.
        assert [h["version"] for h in history[2:]] == [new, old]
        assert history[-1]["activated_by"] == "planner-startup"


@pytest.fixture
async def two_copies(run_service: Any, stats_double: StatsDouble) -> list[Any]:
    """Two in-process planner copies on the test's NATS and database."""
    first = await run_service(spec, rules_dir=ROOT / "rules")
    return [first, await run_service(spec, rules_dir=ROOT / "rules")]


def _planner(svc: Any) -> ActiveRules:
    p: ActiveRules = svc.wiring.rules
    return p


async def test_a_refused_rule_set_leaves_every_copy_on_the_good_version(
    two_copies: list[Any],
) -> None:
    one, two = two_copies
    policy, planner = one.auth(Role.POLICY), one.auth(Role.PLANNER, "SCJG")
    shipped = shipped_text()
    r = await one.http.post(
        "/rules/activate", json={"files": with_cap(shipped, "4%")}, headers=policy
    )
    assert r.status_code == 200, r.text
    good = r.json()["version"]
    broken = {**shipped, "ratios.yaml": shipped["ratios.yaml"] + "\n  - id: [unclosed\n"}
    for files in (broken, with_cap(shipped, "105%")):
        for copy in (two, one):
            r = await copy.http.post("/rules/activate", json={"files": files}, headers=policy)
            assert r.status_code == 422, r.text
            for each in (one, two):
                active = await each.http.get("/rules/active", headers=policy)
                assert active.json()["version"] == good
    for n, copy in enumerate((one, two)):
        r = await copy.http.post("/plans", json=plan_body(f"P-{n}"), headers=planner)
        assert r.status_code == 201, r.text
        assert r.json()["rules_version"] == good
        approved = (await copy.http.get(f"/plans/P-{n}", headers=planner)).json()["approved"]
        assert _capped_bps(approved) == {400}
    history = (await two.http.get("/rules/history", headers=policy)).json()
    assert [h["version"] for h in history] == [good, _version(shipped)]


async def test_the_activated_event_makes_every_copy_compile_the_new_version(
    two_copies: list[Any],
) -> None:
    """Without a single request to copy 2, it compiles what copy 1 activated (warm cache)."""
    one, two = two_copies
    r = await one.http.post(
        "/rules/activate",
        json={"files": with_cap(shipped_text(), "4%")},
        headers=one.auth(Role.POLICY),
    )
    assert r.status_code == 200, r.text
    new = r.json()["version"]

    async def compiled() -> bool:
        return new in _planner(two).compiled_versions

    await _until(compiled, "copy 2 compiling the activated version", 30)


async def test_concurrent_activations_on_two_copies_leave_one_chained_history(
    two_copies: list[Any],
) -> None:
    one, two = two_copies
    policy, planner = one.auth(Role.POLICY), one.auth(Role.PLANNER, "SCJG")
    shipped = shipped_text()
    caps = ["4%", "3%", "3.5%", "4.5%", "3.2%", "3.8%"]
    answers = await asyncio.gather(
        *(
            (one, two)[i % 2].http.post(
                "/rules/activate", json={"files": with_cap(shipped, cap)}, headers=policy
            )
            for i, cap in enumerate(caps)
        )
    )
    assert all(a.status_code == 200 for a in answers), [a.text for a in answers]
    history = (await one.http.get("/rules/history", headers=policy)).json()
    assert len(history) == len(caps) + 1
    for later, earlier in itertools.pairwise(history):
        assert later["previous_version"] == earlier["version"]
    # Each answer's previous_version is the version active when it was recorded.
    assert sorted((a.json()["previous_version"], a.json()["version"]) for a in answers) == sorted(
        (h["previous_version"], h["version"]) for h in history[:-1]
    )
    for n, copy in enumerate((one, two)):
        assert (await copy.http.get("/rules/active", headers=policy)).json()["version"] == history[
            0
        ]["version"]
        r = await copy.http.post("/plans", json=plan_body(f"P-{n}"), headers=planner)
        assert r.json()["rules_version"] == history[0]["version"]


async def test_an_active_version_this_copy_cannot_compile_is_refused_not_replaced(
    two_copies: list[Any],
) -> None:
    """A stored active version that fails this copy's check (files edited in the database, or
    a copy of newer code with a stricter check) is never silently swapped for an older one:
    plans are refused with the reason until a usable set is activated."""
    one, two = two_copies
    policy, planner = one.auth(Role.POLICY), one.auth(Role.PLANNER, "SCJG")
    shipped = shipped_text()
    forged = "f" * 64
    async with two.ctx.db.transaction() as conn:
        await conn.execute(
            "INSERT INTO rule_versions (version, files, summary) VALUES ($1, $2, '{}')",
            forged,
            with_cap(shipped, "105%"),
        )
        await conn.execute(
            "INSERT INTO activations (version, previous_version, activated_by)"
            " VALUES ($1, $2, 'forger')",
            forged,
            _version(shipped),
        )
    for n, copy in enumerate((one, two)):
        r = await copy.http.post("/plans", json=plan_body(f"P-F{n}"), headers=planner)
        assert r.status_code == 409 and r.json()["error"]["code"] == "rules_unusable", r.text
        assert forged in r.json()["error"]["message"]
        r = await copy.http.get("/rules/active", headers=policy)
        assert r.status_code == 409
    r = await one.http.post(
        "/rules/activate", json={"files": with_cap(shipped, "4%")}, headers=policy
    )
    assert r.status_code == 200 and r.json()["previous_version"] == forged
    r = await two.http.post("/plans", json=plan_body("P-AGAIN"), headers=planner)
    assert r.status_code == 201, r.text
    assert r.json()["rules_version"] == _version(with_cap(shipped, "4%"))
