"""The bus on a real nats-server: round trip, dedup, nak redelivery, poison, rpc errors.

Each test runs on the embedded nats-server from the wheel and, with SPOTCHECK_TEST_EXTERNAL=1,
also on the NATS already running on this machine.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from contracts.base import Contract
from services.kit.bus import Bus, Incoming, PoisonMessage
from services.kit.errors import NotFound, TemporaryError
from tests.waiting import eventually


class Hello(Contract):
    name: str


@pytest.fixture(params=["embedded", "external"])
def any_nats_url(request: pytest.FixtureRequest) -> str:
    fixture = "nats_url" if request.param == "embedded" else "external_nats_url"
    return str(request.getfixturevalue(fixture))


@pytest.fixture
async def bus(any_nats_url: str):
    b = await Bus.connect(any_nats_url, name="test")
    yield b
    await b.close()


def _names() -> tuple[str, str]:
    tag = uuid.uuid4().hex[:8]
    return f"T{tag}".upper(), f"test.{tag}"


async def test_event_round_trips_with_cloudevents_headers(bus: Bus) -> None:
    stream, prefix = _names()
    await bus.ensure_stream(stream, [f"{prefix}.>"])
    got: asyncio.Queue[Incoming] = asyncio.Queue()

    async def handler(msg: Incoming) -> None:
        await got.put(msg)

    bus.consume(stream=stream, durable="d1", subjects=[f"{prefix}.>"], handler=handler)
    await bus.publish_event(f"{prefix}.hello", Hello(name="昌江区"), event_id="e-1")
    msg = await asyncio.wait_for(got.get(), 10)
    assert msg.parse(Hello).name == "昌江区"
    assert msg.headers["ce-id"] == "e-1" and msg.headers["ce-specversion"] == "1.0"
    assert msg.headers["Nats-Msg-Id"] == "e-1"
    assert msg.headers["ce-source"] == "test" and msg.headers["ce-time"]


async def test_same_msg_id_twice_stores_one_message(bus: Bus) -> None:
    stream, prefix = _names()
    await bus.ensure_stream(stream, [f"{prefix}.>"])
    first = await bus.publish_event(f"{prefix}.x", Hello(name="a"), event_id="same")
    second = await bus.publish_event(f"{prefix}.x", Hello(name="a"), event_id="same")
    assert first == second
    info = await bus.js.stream_info(stream)
    assert info.state.messages == 1


async def test_temporary_failure_is_redelivered_then_acked(bus: Bus) -> None:
    stream, prefix = _names()
    await bus.ensure_stream(stream, [f"{prefix}.>"])
    attempts: list[int] = []
    done = asyncio.Event()

    async def flaky(msg: Incoming) -> None:
        attempts.append(msg.num_delivered)
        if msg.num_delivered < 3:
            raise TemporaryError("database busy")
        done.set()

    bus.consume(stream=stream, durable="flaky", subjects=[f"{prefix}.>"], handler=flaky)
    await bus.publish_event(f"{prefix}.x", Hello(name="a"))
    await asyncio.wait_for(done.wait(), 20)

    async def settled() -> bool:  # the third delivery acked: none can come any more
        info = await bus.js.consumer_info(stream, "flaky")
        return info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(settled, what="the third delivery is acked")
    assert attempts == [1, 2, 3]


async def test_poison_message_is_terminated_not_looped(bus: Bus) -> None:
    stream, prefix = _names()
    await bus.ensure_stream(stream, [f"{prefix}.>"])
    seen: list[str] = []
    good = asyncio.Event()

    async def handler(msg: Incoming) -> None:
        hello = msg.parse(Hello)  # a bad body raises PoisonMessage
        seen.append(hello.name)
        good.set()

    bus.consume(stream=stream, durable="p", subjects=[f"{prefix}.>"], handler=handler)
    await bus.js.publish(f"{prefix}.x", b'{"nope": 1}')
    await bus.publish_event(f"{prefix}.x", Hello(name="after"))
    await asyncio.wait_for(good.wait(), 10)

    async def settled() -> bool:  # the poison terminated, the good one acked: nothing is due
        info = await bus.js.consumer_info(stream, "p")
        return info.num_ack_pending == 0 and info.num_pending == 0

    await eventually(settled, what="both messages are settled")
    info = await bus.js.consumer_info(stream, "p")
    assert seen == ["after"]
    assert info.num_redelivered == 0
    assert issubclass(PoisonMessage, Exception)


async def test_follow_reaches_every_connection_from_now_on(bus: Bus, any_nats_url: str) -> None:
    """Unlike a shared durable consumer, every follower gets every new message (a copy's own
    cache warm-up); earlier messages are not replayed; a failing handler stops nothing."""
    stream, prefix = _names()
    await bus.ensure_stream(stream, [f"{prefix}.>"])
    await bus.publish_event(f"{prefix}.x", Hello(name="before"))
    other = await Bus.connect(any_nats_url, name="test-other")
    try:
        seen: dict[str, asyncio.Queue[str]] = {"one": asyncio.Queue(), "two": asyncio.Queue()}

        def follower(name: str) -> Any:
            async def handler(msg: Incoming) -> None:
                hello = msg.parse(Hello)
                await seen[name].put(hello.name)
                if hello.name == "boom":
                    raise RuntimeError("a follower failed")

            return handler

        await bus.follow(stream=stream, subject=f"{prefix}.x", handler=follower("one"))
        await other.follow(stream=stream, subject=f"{prefix}.x", handler=follower("two"))
        for name in ("boom", "after"):
            await bus.publish_event(f"{prefix}.x", Hello(name=name))
        for queue in seen.values():
            got = [await asyncio.wait_for(queue.get(), 10) for _ in range(2)]
            assert got == ["boom", "after"] and queue.empty()
    finally:
        await other.close()


async def test_rpc_reply_and_error_shape(bus: Bus) -> None:
    _, prefix = _names()

    async def answer(req: Hello) -> Hello:
        if req.name == "missing":
            raise NotFound("no such entity", details=[{"loc": ["uscc"], "msg": "unknown"}])
        return Hello(name=req.name.upper())

    await bus.serve_rpc(f"{prefix}.rpc.hi", answer, request_model=Hello, queue="q")
    reply = await bus.request(f"{prefix}.rpc.hi", Hello(name="ok"), Hello, timeout=5)
    assert reply.name == "OK"
    with pytest.raises(NotFound) as err:
        await bus.request(f"{prefix}.rpc.hi", Hello(name="missing"), Hello, timeout=5)
    assert err.value.details == [{"loc": ["uscc"], "msg": "unknown"}]
    with pytest.raises(TemporaryError):
        await bus.request(f"{prefix}.rpc.nobody", Hello(name="x"), Hello, timeout=1)


async def test_wrong_url_is_one_clear_error() -> None:
    from services.kit.bus import ConnectError

    with pytest.raises(ConnectError, match=r"cannot reach NATS at nats://127\.0\.0\.1:1"):
        await Bus.connect("nats://127.0.0.1:1", name="t", connect_timeout=1)
