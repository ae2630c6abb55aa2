"""The 两库 summaries to the 监督平台 on the real registry, publisher and relay (NATS +
PostgreSQL): after an import the registry counts its two directories, the publisher sends the
counts as the 监督平台's mapping writes them (a GB18030 CSV file in its drop folder), once a
day at most and only when they changed."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from contracts import subjects
from contracts.registry import DirectorySummary
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from services.registry.app import spec as registry_spec
from services.registry.commands.summaries import CHINA
from services.registry.domain import synthetic
from tests.integration.registry.helpers import entity_csv, http_import
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]
HEADER = ["统计日期", "名录库", "统计项", "代码", "数量", "合计"]
ENTITIES = [
    # region, industry, risk class
    ("360202", "F5211", "A"),
    ("360202", "F5211", "B"),
    ("360202", "C3071", "B"),
    ("360203", "C3071", ""),
]


def _folder(tmp_path: Path) -> Path:
    folder = tmp_path / "platforms"
    folder.mkdir()
    text = (ROOT / "deploy" / "platforms" / "jdpt.yaml").read_text(encoding="utf-8")
    text = text.replace("/var/spool/spotcheck/jdpt", str(tmp_path / "drop"))
    (folder / "jdpt.yaml").write_text(text, encoding="utf-8")
    return folder


def _files(tmp_path: Path) -> dict[str, list[list[str]]]:
    """The summary files in the 监督平台's folder, read as the platform would (GB18030 CSV)."""
    folder = tmp_path / "drop" / "summaries"
    if not folder.is_dir():
        return {}
    return {
        p.name: list(csv.reader(io.StringIO(p.read_bytes().decode("gb18030"), newline="")))
        for p in sorted(folder.iterdir())
        if not p.name.startswith(".")
    }


async def _summary_rows(publisher: Any) -> int:
    return int(
        await publisher.ctx.db.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE idempotency_key LIKE 'directory.summary:%'"
        )
    )


async def test_summaries_reach_the_platform_mapped_after_an_import_once_a_day(
    run_service: Any, tmp_path: Path
) -> None:
    registry = await run_service(registry_spec)
    publisher = await run_service(
        lambda: publisher_spec(
            PublisherSettings(platforms_dir=str(_folder(tmp_path)), retry_base_s=0.05)
        )
    )
    rows = [
        {
            "uscc": synthetic.entity_uscc(91, region, n),
            "name": f"昌江区第{n}瓷业有限公司",
            "region_code": region,
            "industry_code": industry,
            "risk_class": risk,
            "risk_class_date": "2025-03-01" if risk else "",
        }
        for n, (region, industry, risk) in enumerate(ENTITIES, start=1)
    ]
    await http_import(registry, "entities", entity_csv(tmp_path / "entities.csv", rows))

    await eventually(lambda: len(_files(tmp_path)) == 1, what="the day's summary file")
    [(name, lines)] = _files(tmp_path).items()
    today = datetime.now(CHINA).date().isoformat()
    assert lines[0] == HEADER
    got = {(r[1], r[2], r[3]): (r[4], r[5]) for r in lines[1:]}
    assert {r[0] for r in lines[1:]} == {today}
    assert got == {
        ("检查对象名录库", "行政区划", "360202"): ("3", "4"),
        ("检查对象名录库", "行政区划", "360203"): ("1", "4"),
        ("检查对象名录库", "主体类型", "企业"): ("4", "4"),
        ("检查对象名录库", "行业", "F5211"): ("2", "4"),
        ("检查对象名录库", "行业", "C3071"): ("2", "4"),
        ("检查对象名录库", "信用风险分类", "A"): ("1", "4"),
        ("检查对象名录库", "信用风险分类", "B"): ("2", "4"),
        ("检查对象名录库", "信用风险分类", ""): ("1", "4"),
    }

    # The roster imported the same day changes the counts: nothing more today (at most daily).
    out = io.StringIO()
    synthetic.write_inspectors(out, 12)
    (tmp_path / "inspectors.csv").write_text(out.getvalue(), encoding="utf-8")
    await http_import(registry, "inspectors", tmp_path / "inspectors.csv")
    summaries = registry.wiring.summaries
    assert await summaries.maybe_publish() is None
    assert (
        await registry.ctx.db.pool.fetchval("SELECT count(*) FROM directory_summaries WHERE sent")
        == 1
    )

    # The next day's look sends the changed counts, once.
    tomorrow = datetime.now(CHINA) + timedelta(days=1)
    second = await summaries.maybe_publish(now=tomorrow)
    assert second is not None and second.inspectors == 12
    assert await summaries.maybe_publish(now=tomorrow) is None
    # The day after, the periodic look finds nothing changed: nothing sent, the look recorded
    # (it counts once that day).
    after = tomorrow + timedelta(days=1)
    assert await summaries.maybe_publish(now=after, periodic=True) is None
    days = await registry.ctx.db.pool.fetch(
        "SELECT day, sent FROM directory_summaries ORDER BY day"
    )
    assert [r["sent"] for r in days] == [True, True, False]
    assert days[-1]["day"] == after.date()
    await eventually(lambda: len(_files(tmp_path)) == 2, what="the next day's summary file")
    roster = list(csv.DictReader(io.StringIO(out.getvalue())))
    by_department = Counter(r["department"] for r in roster)
    newest = _files(tmp_path)[max(set(_files(tmp_path)) - {name})]
    departments = {r[3]: r[4] for r in newest[1:] if r[2] == "所属部门"}
    assert departments == {d: str(n) for d, n in by_department.items()}
    qualified = sum(int(r[4]) for r in newest[1:] if r[2] == "执法资格")
    assert qualified == 12 and {r[5] for r in newest[1:] if r[1] == "执法检查人员名录库"} == {"12"}

    # The event delivered again (a redelivery, a replay) sends nothing new.
    await registry.ctx.bus.publish_event(
        subjects.event("registry", "directory.summary"),
        DirectorySummary.model_validate(second.model_dump()),
        event_id="directory.summary:replayed",
    )
    stream = subjects.stream_name("registry")
    last = (await registry.ctx.bus.js.stream_info(stream)).state.last_seq
    await eventually(
        lambda: _acked_through(publisher, last), what="the publisher took the repeated summary"
    )
    assert await _summary_rows(publisher) == 2
    assert len(_files(tmp_path)) == 2


async def _acked_through(publisher: Any, seq: int) -> bool:
    info = await publisher.ctx.bus.js.consumer_info(
        subjects.stream_name("registry"), "publisher-directory-summary"
    )
    return bool(info.ack_floor.stream_seq >= seq)
