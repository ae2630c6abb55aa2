"""`spotcheck up` as a user runs it: real processes, readiness, clean stop, clear errors."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

from spotcheck.embedded import free_port
from spotcheck.stack import SERVICES as ALL_SERVICES
from tests.waiting import wait_until

SERVICES = ("registry", "planner", "draw", "publisher")


def _env(tmp_path: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["SPOTCHECK_VAR_DIR"] = str(tmp_path / "var")
    for name in ALL_SERVICES:  # the web too: its default port may be another stack's
        env[f"SPOTCHECK_{name.upper()}_PORT"] = str(free_port())
    env.pop("SPOTCHECK_NATS_URL", None)
    env.pop("SPOTCHECK_DATABASE_URL", None)
    return env


def _wait_for_stack(var: Path, proc: subprocess.Popen[bytes], timeout: float = 120) -> dict:
    import json

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.stdout.read().decode() if proc.stdout else ""
        path = var / "stack.json"
        if path.exists():
            return json.loads(path.read_text())
        time.sleep(0.3)
    raise AssertionError("stack did not start")


def _postgres_of(pgdata: Path) -> list[psutil.Process]:
    found = []
    for p in psutil.process_iter(["cmdline"]):
        cmd = " ".join(p.info["cmdline"] or [])
        if str(pgdata) in cmd:
            found.append(p)
    return found


def test_up_starts_everything_and_sigterm_leaves_nothing(tmp_path: Path) -> None:
    env = _env(tmp_path)
    var = tmp_path / "var"
    proc = subprocess.Popen(
        [sys.executable, "-m", "spotcheck", "up"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        stack = _wait_for_stack(var, proc)
        for name in SERVICES:
            r = httpx.get(stack["services"][name]["url"] + "/readyz", timeout=5)
            assert r.status_code == 200, (name, r.text)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert len(descendants) >= 5  # nats-server + four services
        assert _postgres_of(var / "pg")

        _audit_verify_finds_tampering(stack, env, tmp_path)

        status = subprocess.run(
            [sys.executable, "-m", "spotcheck", "status", "--json"],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert status.returncode == 0, status.stdout + status.stderr

        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
        out = proc.stdout.read().decode() if proc.stdout else ""
        assert "all services ready" in out
        wait_until(
            lambda: not [p for p in descendants if p.is_running() and p.status() != "zombie"],
            what="every process of the stack has ended",
        )
        wait_until(lambda: not _postgres_of(var / "pg"), what="PostgreSQL has stopped")
        assert not (var / "stack.json").exists()
    finally:
        if proc.poll() is None:
            proc.kill()


def _audit_verify_finds_tampering(stack: dict, env: dict[str, str], cwd: Path) -> None:
    """Entries appended through the kit verify, once the draw service copied them to the
    AUDIT stream too; a deleted last entry and an edited entry are named by the CLI."""
    import asyncio

    from services.kit.audit import AuditTrail
    from services.kit.db import Database

    async def append_then_tamper(tamper: str | None) -> None:
        db = Database(url=stack["database_url"], schema="draw")
        await db.connect()
        try:
            if tamper == "delete-last":
                await db.pool.execute("DELETE FROM audit_log WHERE seq = 3")
                return
            if tamper == "edit":
                async with db.pool.acquire() as conn:
                    await conn.execute(
                        """UPDATE audit_log SET data = '{"seed": "forged"}' WHERE seq = 2"""
                    )
                return
            audit = AuditTrail(service="draw", db=db, bus=None)
            for i in range(3):
                async with db.transaction() as conn:
                    await audit.append(
                        conn, actor="t", action="test", subject=str(i), data={"seed": str(i)}
                    )
        finally:
            await db.close()

    def verify() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "spotcheck", "audit", "verify"],
            env=env,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
        )

    asyncio.run(append_then_tamper(None))
    # The draw service's audit relay copies them within its idle period (5 s).
    deadline = time.monotonic() + 30
    while True:
        ok = verify()
        assert ok.returncode == 0, ok.stdout + ok.stderr
        if "3 entries, 3 matched on the AUDIT stream (head 3)" in ok.stdout:
            break
        assert time.monotonic() < deadline, ok.stdout
        time.sleep(0.5)
    asyncio.run(append_then_tamper("delete-last"))
    bad = verify()
    assert bad.returncode == 1
    assert "draw       BROKEN   at entry 3: entry 3 is missing from PostgreSQL" in bad.stdout
    asyncio.run(append_then_tamper("edit"))
    bad = verify()
    assert bad.returncode == 1
    assert "draw       BROKEN   at entry 2" in bad.stdout, bad.stdout


def test_missing_nats_binary_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    env["PATH"] = "/nonexistent"
    code = (
        "import sysconfig, spotcheck.embedded as e;"
        "sysconfig.get_path = lambda name: '/nonexistent';"
        "e.sys.executable = '/nonexistent/python';"
        "from spotcheck.cli import main; main()"
    )
    r = subprocess.run(
        [sys.executable, "-c", code, "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "nats-server binary not found" in r.stderr and "SPOTCHECK_NATS_URL" in r.stderr


def test_second_up_reuses_the_data(tmp_path: Path) -> None:
    env = _env(tmp_path)
    var = tmp_path / "var"
    for _ in range(2):
        proc = subprocess.Popen(
            [sys.executable, "-m", "spotcheck", "up"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
        try:
            _wait_for_stack(var, proc)
        finally:
            proc.send_signal(signal.SIGINT)
            proc.wait(60)
        assert proc.returncode == 0
    assert (var / "pg" / "PG_VERSION").exists()


def test_unwritable_var_is_one_clear_line(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    env = _env(tmp_path)
    env["SPOTCHECK_VAR_DIR"] = str(blocker / "var")
    r = subprocess.run(
        [sys.executable, "-m", "spotcheck", "up"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "cannot write to" in r.stderr and "SPOTCHECK_VAR_DIR" in r.stderr


def test_unreachable_external_nats_is_one_clear_line(tmp_path: Path) -> None:
    env = _env(tmp_path)
    r = subprocess.run(
        [sys.executable, "-m", "spotcheck", "up", "--nats-url", "nats://127.0.0.1:1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode == 1
    assert "cannot reach NATS at nats://127.0.0.1:1" in r.stderr
    assert not list((tmp_path / "var").glob("pg/PG_VERSION"))


def test_service_on_a_taken_port_says_so(tmp_path: Path, nats_url: str, database_url: str) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        env = _env(tmp_path)
        env.update(
            SPOTCHECK_NATS_URL=nats_url,
            SPOTCHECK_DATABASE_URL=database_url,
            SPOTCHECK_REGISTRY_PORT=str(port),
        )
        r = subprocess.run(
            [sys.executable, "-m", "services.registry"],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert r.returncode == 1
    assert f"port {port}" in r.stderr and "SPOTCHECK_REGISTRY_PORT" in r.stderr


@pytest.mark.usefixtures("external_nats_url")
def test_up_against_external_servers(tmp_path: Path, external_database_url: str) -> None:
    env = _env(tmp_path)
    var = tmp_path / "var"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "spotcheck",
            "up",
            "--nats-url",
            "nats://127.0.0.1:4222",
            "--database-url",
            external_database_url,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=tmp_path,
    )
    try:
        stack = _wait_for_stack(var, proc)
        assert not stack["nats_embedded"] and not stack["database_embedded"]
        assert not (var / "pg").exists() and not (var / "nats").exists()
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(60)
    assert proc.returncode == 0
