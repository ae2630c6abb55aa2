"""The embedded NATS of `spotcheck up` runs deploy/nats/accounts.conf: nobody connects without
a user, and a foreign client with the agency user reads result events and nothing else — it
cannot forge a result into the PUBLISHER stream, read the audit subjects or call a service."""

from __future__ import annotations

import asyncio
import json
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import NoRespondersError
from nats.errors import TimeoutError as NatsTimeout
from nats.js.errors import NotFoundError

from contracts import subjects
from services.kit.bus import Bus, ConnectError
from spotcheck.embedded import free_port
from tests.integration.publisher.test_nats_accounts import (  # noqa: F401 - the fixture
    PASSWORDS,
    accounts_server,
)
from tests.stack import Running, cli, new_workdir, stack_env, started_stack

RESULT = "spotcheck.v1.publisher.result.published.360202.scjg"
FORGED = "spotcheck.v1.publisher.result.published.360202.forged"


def _password(s: Running, user: str) -> str:
    path = s.cwd / "var" / "secrets" / "nats" / f"{user}.password"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return path.read_text().strip()


async def _as(s: Running, url: str, user: str, errors: list[str]) -> NATS:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc).lower())

    return await nats.connect(
        url, user=user, password=_password(s, user), error_cb=on_error, allow_reconnect=False
    )


# Bounds on waits for what must happen (they end as soon as it does): generous, because the
# suite may run on a loaded machine. What must not happen is checked after a positive control.
BOUND_S = 30.0


async def _violations(errors: list[str], *wanted: str) -> None:
    """Wait (bounded) until the server reported each permissions violation."""
    async with asyncio.timeout(BOUND_S):
        while not all(any(w in e for e in errors) for w in wanted):  # noqa: ASYNC110
            await asyncio.sleep(0.05)


async def _check(s: Running, url: str) -> None:
    # No user: refused, as a service or as a plain client.
    with pytest.raises(ConnectError, match="refused no user"):
        await Bus.connect(url, name="anonymous")
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(url, allow_reconnect=False, max_reconnect_attempts=0)

    agency_errors: list[str] = []
    own_errors: list[str] = []
    agency = await _as(s, url, "agency", agency_errors)
    publisher = await _as(s, url, "publisher", own_errors)
    registry = await _as(s, url, "registry", own_errors)
    cli = await _as(s, url, "cli", own_errors)
    try:
        results = await agency.subscribe("spotcheck.v1.publisher.result.published.>")
        audit = await agency.subscribe(f"{subjects.AUDIT_SUBJECT_PREFIX}.>")
        await agency.flush()

        # A result published by the publisher's user is stored and reaches the agency.
        ack = await publisher.jetstream(timeout=BOUND_S).publish(RESULT, b'{"result_id": "R-1"}')
        assert ack.stream == "PUBLISHER"
        got = await results.next_msg(timeout=BOUND_S)
        assert got.subject == RESULT and got.data == b'{"result_id": "R-1"}'

        # The agency's forgery is refused and never stored in the PUBLISHER stream.
        await agency.publish(FORGED, b'{"forged": true}')
        await agency.flush()
        await _violations(agency_errors, f'permissions violation for publish to "{FORGED}"')
        with pytest.raises(NotFoundError):
            await cli.jetstream(timeout=BOUND_S).get_last_msg("PUBLISHER", FORGED)
        with pytest.raises(NatsTimeout):
            await results.next_msg(timeout=0.3)

        # The audit subjects are not the agency's to read, even while entries are appended.
        await registry.publish(subjects.audit_subject("registry"), b'{"seq": 0}')
        await registry.flush()
        await _violations(agency_errors, "permissions violation for subscription to")
        with pytest.raises(NatsTimeout):
            await audit.next_msg(timeout=0.3)

        # No service answers the agency: its requests are not even delivered.
        ping = subjects.rpc("registry", "ping")
        with pytest.raises((NatsTimeout, NoRespondersError)):
            await agency.request(ping, b"{}", timeout=1)
        await _violations(agency_errors, f'permissions violation for publish to "{ping}"')
        reply = await cli.request(ping, b"{}", timeout=BOUND_S)  # the command line's user may
        assert json.loads(reply.data)["service"] == "registry"
        assert not own_errors
    finally:
        for nc in (cli, registry, publisher, agency):
            await nc.close()


def _assert_status_reaches_nats(s: Running) -> None:
    """`spotcheck status` connects to NATS as the command line's user (the services' own
    health is test_stack.py's: a loaded machine may make one answer slowly)."""
    status = cli(s, "status", "--json")
    report = json.loads(status.stdout)
    nats_part = next(p for p in report["parts"] if p["part"] == "nats")
    assert nats_part["ok"], nats_part


def test_the_embedded_nats_runs_with_accounts() -> None:
    with started_stack("spotcheck-accounts-") as s:
        info = json.loads((s.cwd / "var" / "stack.json").read_text())
        url = info["nats_url"]
        assert "@" not in url  # no password in what the stack records
        folder = s.cwd / "var" / "secrets" / "nats"
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700
        asyncio.run(_check(s, url))

        # A service started without credentials cannot connect, and says how to fix it.
        env = {k: v for k, v in s.env.items() if not k.startswith("SPOTCHECK_NATS_")}
        env.update(
            SPOTCHECK_NATS_URL=url,
            SPOTCHECK_DATABASE_URL=info["database_url"],
            SPOTCHECK_REGISTRY_PORT=str(free_port()),
        )
        r = subprocess.run(
            [sys.executable, "-m", "services.registry"],
            env=env,
            cwd=s.cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 1
        assert "refused no user" in r.stderr and "SPOTCHECK_NATS_USER" in r.stderr

        # The command line finds its own user (spotcheck status connects as `cli`).
        _assert_status_reaches_nats(s)


def test_no_password_is_in_the_repository() -> None:
    root = Path(__file__).resolve().parents[3]
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=root, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    assert not [p for p in tracked if p.endswith(".password") or p.startswith("var/")]
    assert "var/" in (root / ".gitignore").read_text().split()


def test_up_on_an_external_nats_with_accounts(
    accounts_server: str,  # noqa: F811 - the imported fixture
) -> None:
    """An existing NATS with deploy/'s accounts: the province's passwords in a folder
    (SPOTCHECK_NATS_CREDENTIALS_DIR), each part connects as its own user from it."""
    tmp = new_workdir("spotcheck-external-accounts-")
    folder = tmp / "nats-passwords"
    folder.mkdir(mode=0o700)
    for user, password in PASSWORDS.items():
        (folder / f"{user}.password").write_text(password + "\n")
    env = stack_env(tmp)
    env["SPOTCHECK_NATS_CREDENTIALS_DIR"] = str(folder)
    log = (tmp / "up.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotcheck", "up", "--nats-url", accounts_server],
        env=env,
        cwd=tmp,
        stdout=log,
        stderr=log,
    )
    try:
        deadline = time.monotonic() + 180
        while not (tmp / "var" / "stack.json").exists():
            assert proc.poll() is None, (tmp / "up.log").read_text()
            assert time.monotonic() < deadline, "the stack did not start"
            time.sleep(0.3)
        info = json.loads((tmp / "var" / "stack.json").read_text())
        assert not info["nats_embedded"] and not (tmp / "var" / "secrets").exists()
        _assert_status_reaches_nats(Running(env=env, cwd=tmp, urls={}))
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(90)
        log.close()
    assert proc.returncode == 0
    shutil.rmtree(tmp, ignore_errors=True)
