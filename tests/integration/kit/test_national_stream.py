"""The national stream on one machine: two provincial NATS servers and one national NATS
(tests/national.py): each result once, across a national and a provincial restart; a province
that does not answer; what the national side cannot do to a province."""

from __future__ import annotations

import time
from typing import Any

import pytest
from nats.errors import NoRespondersError
from nats.js.api import ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from contracts import subjects
from services.kit.bus import dumps
from services.publisher.domain.delivery import Destination, idempotency_key
from spotcheck import national
from tests.national import (
    REGION,
    Subscriber,
    connected,
    ensure_publisher_stream,
    publish,
    result_of,
    stream_messages,
)
from tests.waiting import eventually


async def test_both_provinces_results_reach_the_national_stream_each_once(country) -> None:
    gd, zj = country.provinces["gd"], country.provinces["zj"]
    for p in (gd, zj):
        await ensure_publisher_stream(p)
    await connected(country, ["gd", "zj"])
    # Results published before the national stream exists are sourced from the start.
    early = await publish(gd, 3) + await publish(zj, 2)
    nc = await country.admin()
    try:
        applied = await national.ensure_stream(nc, ["gd", "zj"])
        assert applied.action == "created" and applied.provinces == ["gd", "zj"]
        assert (await national.ensure_stream(nc, ["gd", "zj"])).action == "unchanged"
    finally:
        await nc.close()
    later = await publish(gd, 2) + await publish(zj, 3)
    # The relay's retry after a lost ack carries the same Nats-Msg-Id: stored once.
    bus = await gd.bus("relay")
    try:
        result = result_of("gd")
        key = idempotency_key(result.result_id, 1, Destination.STREAM)
        subject = subjects.event("publisher", "result.published", REGION["gd"], "scjg")
        for _ in range(2):
            await bus.publish_raw(subject, dumps(result), event_id=key, timeout=5)
    finally:
        await bus.close()
    expected = early + later + [key]

    sub = Subscriber()
    await sub.drain(country, until=len(expected))
    assert sorted(sub.seen) == sorted(expected)  # each once, none missing, none extra
    assert sub.regions.count(REGION["gd"]) == 6 and sub.regions.count(REGION["zj"]) == 5

    # Each province's PUBLISHER holds its own results only: nothing crossed between them.
    for p, own in ((gd, 6), (zj, 5)):
        bus = await p.bus("publisher")
        try:
            assert await stream_messages(bus.js, "PUBLISHER") == own
        finally:
            await bus.close()

    # How long a result takes to appear nationally (docs/operations.md quotes it).
    reader = await country.reader()
    try:
        sub2 = await reader.js.pull_subscribe(
            national.RESULTS_FILTER,
            durable="latency",
            stream=national.NATIONAL_STREAM,
            config=ConsumerConfig(deliver_policy=DeliverPolicy.NEW),
        )
        took = []
        for _ in range(5):
            start = time.monotonic()
            [one] = await publish(zj, 1)
            [msg] = await sub2.fetch(1, timeout=10)
            took.append(time.monotonic() - start)
            assert (msg.headers or {})["Nats-Msg-Id"] == one
            await msg.ack()
        print(f"\nnational latency: {', '.join(f'{t * 1000:.0f} ms' for t in took)}")
        assert max(took) < 10
    finally:
        await reader.close()


async def test_a_dropped_link_resumes_without_losing_or_repeating(country) -> None:
    gd, zj = country.provinces["gd"], country.provinces["zj"]
    for p in (gd, zj):
        await ensure_publisher_stream(p)
    await connected(country, ["gd", "zj"])
    nc = await country.admin()
    try:
        await national.ensure_stream(nc, ["gd", "zj"])
    finally:
        await nc.close()
    expected = await publish(gd, 3) + await publish(zj, 3)
    sub = Subscriber()
    await sub.drain(country, until=len(expected))

    # The national server goes away: the provinces keep publishing into their own streams.
    country.stop_national()
    expected += await publish(gd, 4) + await publish(zj, 2)
    country.start_national(["gd", "zj"])
    restarted = time.monotonic()
    # nats-server retries a source that failed (its province was not yet reconnected) with a
    # growing pause: about 40 s on this machine, quoted in docs/operations.md.
    await sub.drain(country, until=len(expected), timeout=120)
    print(f"\nafter the national restart: 6 held results in {time.monotonic() - restarted:.1f} s")

    # A province goes away and comes back; its results published before and after arrive.
    zj.stop()
    expected += await publish(gd, 2)
    zj.start()
    restarted = time.monotonic()
    expected += await publish(zj, 2)
    await sub.drain(country, until=len(expected), timeout=120)
    print(f"after zj's restart: its 2 new results in {time.monotonic() - restarted:.1f} s")

    assert sorted(sub.seen) == sorted(expected)
    nc = await country.admin()
    try:
        messages, states = await national.status(nc)
        assert messages == len(expected) == 16
        assert {s.province: s.lag for s in states} == {"gd": 0, "zj": 0}
    finally:
        await nc.close()


async def test_a_province_that_does_not_answer_is_named_and_changes_nothing(country) -> None:
    await ensure_publisher_stream(country.provinces["gd"])
    await connected(country, ["gd"])
    # A province whose NATS runs another domain than the code it was registered under.
    country.add_province("hn", domain="hunan")
    nc = await country.admin()
    try:
        with pytest.raises(national.NationalError) as refused:
            await national.ensure_stream(nc, ["gd", "hn"])
        text = str(refused.value)
        assert "'hn'" in text and "SPOTCHECK_PROVINCE_DOMAIN=hn" in text
        assert "'gd'" not in text  # the one that answers is not blamed
        with pytest.raises(NotFoundError):
            await nc.jetstream().stream_info(national.NATIONAL_STREAM)  # nothing was made

        assert (await national.ensure_stream(nc, ["gd"])).action == "created"
        with pytest.raises(national.NationalError, match="'hn'"):
            await national.ensure_stream(nc, ["gd", "hn"])
        _, states = await national.status(nc)
        assert [s.province for s in states] == ["gd"]  # left as it was
    finally:
        await nc.close()


async def test_the_national_side_cannot_change_a_province(country) -> None:
    gd = country.provinces["gd"]
    await ensure_publisher_stream(gd)
    await publish(gd, 1)
    await connected(country, ["gd"])
    nc = await country.admin()
    try:
        for subject in (
            "$JS.gd.API.STREAM.DELETE.PUBLISHER",
            "$JS.gd.API.STREAM.PURGE.PUBLISHER",
            "$JS.gd.API.ACCOUNT.PURGE",
            "$JS.gd.API.CONSUMER.DELETE.PUBLISHER.credit-feedback",
            "$JS.gd.API.DIRECT.GET.PUBLISHER",
        ):
            with pytest.raises(NoRespondersError):
                await nc.request(subject, b"{}", timeout=2)

        # Raw events do not cross: a subscriber in the national account hears none. The sourced
        # copy travels the same leaf connection after the event was stored, so once it is in
        # the national stream a raw copy would have arrived before it.
        await national.ensure_stream(nc, ["gd"])
        heard: list[str] = []

        async def hear(msg: Any) -> None:
            heard.append(msg.subject)

        await nc.subscribe("spotcheck.>", cb=hear)
        await nc.flush()
        await publish(gd, 1)
        js = nc.jetstream()

        async def sourced() -> bool:
            return await stream_messages(js, national.NATIONAL_STREAM) == 2

        await eventually(sourced, what="gd's two results in the national stream")
        assert heard == []
    finally:
        await nc.close()
    bus = await gd.bus("publisher")
    try:
        assert await stream_messages(bus.js, "PUBLISHER") == 2  # untouched
    finally:
        await bus.close()
