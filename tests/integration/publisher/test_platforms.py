"""The outside platforms over the real outbox and relay (NATS + PostgreSQL): 公示系统 (JSON),
执法服务网 (GB18030 form), 监督平台 (GB18030 CSV files dropped in a folder), each speaking the
shipped default mapping; down for a while and back; a bad mapping; a province's own mapping."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from contracts import subjects
from contracts.common import Role
from contracts.planner import PlanApproved, PlanItem
from services.kit.mapping import MappingInvalid, PlatformMapping, load_mappings, read_mapping_dir
from services.publisher.app import spec
from services.publisher.domain.categories import load_categories
from services.publisher.domain.platforms import vocabulary
from services.publisher.platforms import load_platforms
from services.publisher.settings import PublisherSettings
from tests.waiting import eventually

from .conftest import publish_tasks, result_body, task_assigned
from .fake_platforms import DropWatcher, FakePlatform

ROOT = Path(__file__).resolve().parents[3]
GSXT_TOKEN = "gsxt-secret-token"
ZFW_TOKEN = "zfw-secret-token"


def _folder(tmp_path: Path, edit: dict[str, list[tuple[str, str]]] | None = None) -> Path:
    """The shipped defaults as a province would copy them: its department codes (the tests'
    tasks say `scjg`), its drop folder, its token file; `edit` changes a file's text."""
    folder = tmp_path / "platforms"
    folder.mkdir(parents=True)
    for f in (ROOT / "deploy" / "platforms").glob("*.yaml"):
        text = f.read_text(encoding="utf-8").replace("    SCJG:", "    scjg:")
        text = text.replace("/var/spool/spotcheck/jdpt", str(tmp_path / "drop"))
        for old, new in (edit or {}).get(f.name, []):
            assert old in text, (f.name, old)
            text = text.replace(old, new)
        (folder / f.name).write_text(text, encoding="utf-8")
    (folder / "secrets").mkdir()
    (folder / "secrets" / "zfw.token").write_text(ZFW_TOKEN + "\n", encoding="utf-8")
    return folder


def _mappings(folder: Path) -> dict[str, PlatformMapping]:
    loaded = load_mappings(
        read_mapping_dir(folder), vocabulary(load_categories()), direction="outbound"
    )
    return {pid: m.mapping for pid, m in loaded.items()}


@pytest.fixture
async def platforms(monkeypatch: pytest.MonkeyPatch) -> Any:
    """`gsxt, zfw = await platforms(folder)`: both HTTP platforms listening, their URLs and
    the 公示系统 token in the environment the publisher reads."""
    started: list[FakePlatform] = []

    async def make(folder: Path) -> tuple[FakePlatform, FakePlatform]:
        m = _mappings(folder)
        gsxt = FakePlatform(m["gsxt"], kind="result", token=GSXT_TOKEN)
        zfw = FakePlatform(m["zfw"], kind="result", token=ZFW_TOKEN)
        for p in (gsxt, zfw):
            await p.start()
            started.append(p)
        monkeypatch.setenv("SPOTCHECK_PLATFORM_GSXT_URL", gsxt.url)
        monkeypatch.setenv("SPOTCHECK_PLATFORM_GSXT_TOKEN", GSXT_TOKEN)
        monkeypatch.setenv("SPOTCHECK_PLATFORM_ZFW_URL", zfw.url)
        return gsxt, zfw

    yield make
    for p in started:
        await p.stop()


def _settings(folder: Path, **over: Any) -> PublisherSettings:
    values: dict[str, Any] = {
        "platforms_dir": str(folder),
        "retry_base_s": 0.05,
        "retry_cap_s": 0.3,
        "max_attempts": 200,
        "http_timeout_s": 2.0,
    }
    return PublisherSettings(**(values | over))


def _plan() -> PlanApproved:
    return PlanApproved(
        plan_id="P-1",
        year=2026,
        title="2026年度企业公示信息抽查计划",
        departments=["scjg"],
        lead_department="scjg",
        rules_version="r" * 64,
        period_start=date(2026, 3, 1),
        period_end=date(2026, 6, 30),
        items=[
            PlanItem(
                code="ITEM-01", name="企业公示信息情况的检查", department="scjg", kind="general"
            )
        ],
        strata=[],
        approved_at=datetime(2026, 2, 1, 2, 0, tzinfo=UTC),
    )


async def _all_delivered(svc: Any) -> bool:
    by = dict(await svc.ctx.db.pool.fetch("SELECT state, count(*) FROM outbox GROUP BY state"))
    assert by.get("dead", 0) == 0, f"dead letters: {by}"
    return set(by) == {"delivered"}


async def _submit(svc: Any, bodies: list[dict[str, Any]]) -> None:
    staff = svc.auth(Role.PLANNER, "scjg")
    for body in bodies:
        resp = await svc.http.post("/results", json=body, headers=staff)
        assert resp.status_code == 201, resp.text


async def test_plans_tasks_results_and_corrections_reach_each_platform_mapped(
    run_service: Any, platforms: Any, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    gsxt, zfw = await platforms(folder)
    svc = await run_service(lambda: spec(_settings(folder)))
    # 监督平台's batch job takes result files away as they appear.
    jdpt = DropWatcher(_mappings(folder)["jdpt"], folder=tmp_path / "drop", kind="result")
    jdpt.start()
    await svc.ctx.bus.publish_event(
        subjects.event("planner", "plan.approved"), _plan(), event_id="plan-P-1"
    )
    await publish_tasks(svc, [task_assigned(f"T-{i}") for i in range(3)])
    await _submit(svc, [result_body(f"T-{i}") for i in range(3)])
    fix = result_body("T-0", category="E", corrects_version=1, correction_reason="录入错误")
    await _submit(svc, [fix])
    await eventually(lambda: _all_delivered(svc), what="every delivery made", timeout=60)

    keys = {f"R-T-{i}:v1:platform:gsxt" for i in range(3)} | {"R-T-0:v2:platform:gsxt"}
    assert set(gsxt.effects) == keys and gsxt.refusals == []
    assert gsxt.effects["R-T-1:v1:platform:gsxt"] == {
        "统一社会信用代码": "91360202MA35XXXX0A",
        "企业名称": "景德镇测试瓷业有限公司",
        "检查实施机关": "昌江区市场监督管理局",
        "类型": "双随机抽查",
        "日期": "2026-03-10",
        "结果": "未发现问题",
        "结果编号": "R-T-1",
        "版本": "1",
    }
    assert gsxt.effects["R-T-0:v2:platform:gsxt"]["结果"] == "发现问题已责令改正"

    assert set(zfw.effects) == {k.replace("gsxt", "zfw") for k in keys} and zfw.refusals == []
    correction = zfw.effects["R-T-0:v2:platform:zfw"]  # decoded from GB18030 by the fake
    assert correction["是否更正"] == "是" and correction["更正说明"] == "录入错误"
    assert correction["检查事项"] == "企业公示信息情况的检查"

    drop = tmp_path / "drop"
    assert len(list((drop / "plans").glob("*.csv"))) == 1
    await jdpt.stop()
    assert set(jdpt.taken) == {k.replace(":", "_").replace("gsxt", "jdpt") + ".csv" for k in keys}
    assert jdpt.refusals == []  # never a half-written file, every required field there
    assert jdpt.records["R-T-0_v2_platform_jdpt.csv"]["更正说明"] == "录入错误"
    [plan_file] = (drop / "plans").glob("*.csv")
    header, row = plan_file.read_bytes().decode("gb18030").splitlines()
    assert header.split(",")[:3] == ["计划编号", "计划名称", "年度"]
    assert row.endswith(",企业公示信息情况的检查,2026-02-01 10:00:00")  # Beijing time
    tasks = sorted((drop / "tasks").glob("*.csv"))
    assert len(tasks) == 3
    assert "检查员I-1；检查员I-2" in tasks[0].read_bytes().decode("gb18030")
    assert not list(drop.rglob(".*.part"))  # every file renamed into place, none half written

    audit = await svc.ctx.db.pool.fetchrow(
        "SELECT data FROM audit_log WHERE action = 'platforms.mappings_in_force'"
    )
    # The 监督平台's receipts mapping (inbound) is in force too.
    assert sorted(audit["data"]) == ["gsxt", "jdpt", "jdpt inbound", "zfw"]


async def test_a_platform_down_for_a_while_then_back_gets_everything_once(
    run_service: Any, platforms: Any, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    gsxt, zfw = await platforms(folder)
    await gsxt.stop()  # down: connections refused
    zfw.lose_first_reply = True  # up, but the first reply to each record is lost
    drop = tmp_path / "drop"
    drop.write_text("a file where the shared folder should be mounted")  # the share is away
    svc = await run_service(lambda: spec(_settings(folder)))
    n = 12
    await publish_tasks(svc, [task_assigned(f"T-{i}") for i in range(n)])
    await _submit(svc, [result_body(f"T-{i}") for i in range(n)])

    async def tried_while_down() -> bool:
        rows = await svc.ctx.db.pool.fetch(
            "SELECT attempts, state FROM outbox"
            " WHERE destination IN ('platform:gsxt', 'platform:jdpt')"
        )
        return len(rows) == 3 * n and all(
            r["attempts"] >= 2 and r["state"] == "pending" for r in rows
        )

    await eventually(tried_while_down, what="gsxt and jdpt deliveries retried while down")
    await gsxt.start()  # back, on the same port
    drop.unlink()  # the share is back
    await eventually(lambda: _all_delivered(svc), what="every delivery made", timeout=60)

    assert set(gsxt.effects) == {f"R-T-{i}:v1:platform:gsxt" for i in range(n)}
    assert set(zfw.effects) == {f"R-T-{i}:v1:platform:zfw" for i in range(n)}
    assert all(c >= 2 for c in zfw.calls.values())  # each was sent again after the lost reply
    # ... and the repeat was the same request: the same bytes under the same key
    assert all(len(bodies) == 1 for bodies in zfw.bodies.values())
    assert len(list((drop / "tasks").glob("*.csv"))) == n
    assert len(list((drop / "results").glob("*.csv"))) == n


async def test_a_mapping_with_an_error_refuses_the_start_naming_its_line(
    run_service: Any, platforms: Any, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    await platforms(folder)
    text = (folder / "zfw.yaml").read_text(encoding="utf-8")
    (folder / "zfw.yaml").write_text(
        text.replace("    random: 双随机抽查", "    randomly: 双随机抽查"), encoding="utf-8"
    )
    with pytest.raises(MappingInvalid) as caught:
        await run_service(lambda: spec(_settings(folder)))
    line = next(i for i, t in enumerate(text.splitlines(), 1) if "random: 双随机抽查" in t)
    assert next((e.file, e.line) for e in caught.value.errors) == ("zfw.yaml", line)
    assert "wrong code list value: 'randomly'" in caught.value.errors[0].reason


async def test_a_provinces_changed_mapping_is_applied_without_code(
    run_service: Any, platforms: Any, tmp_path: Path
) -> None:
    # This province's 公示系统 interface names the result 检查结果, calls a drawn check
    # 随机抽查, writes dates the Chinese way and wants GB18030; nothing else changes.
    folder = _folder(
        tmp_path,
        {
            "gsxt.yaml": [
                ("- name: 结果\n", "- name: 检查结果\n"),
                ("    random: 双随机抽查", "    random: 随机抽查"),
                ('dates: "%Y-%m-%d"', 'dates: "%Y年%m月%d日"'),
                ("encoding: utf-8", "encoding: gb18030"),
            ]
        },
    )
    gsxt, _ = await platforms(folder)
    svc = await run_service(lambda: spec(_settings(folder)))
    await publish_tasks(svc, [task_assigned("T-1")])
    await _submit(svc, [result_body("T-1")])
    await eventually(lambda: _all_delivered(svc), what="every delivery made", timeout=60)
    assert gsxt.refusals == []  # the fake read GB18030 and found every required field
    got = gsxt.effects["R-T-1:v1:platform:gsxt"]
    assert (got["检查结果"], got["类型"], got["日期"]) == (
        "未发现问题",
        "随机抽查",
        "2026年03月10日",
    )
    assert "结果" not in got
    [raw] = gsxt.bodies["R-T-1:v1:platform:gsxt"]
    assert "检查结果".encode("gb18030") in raw


async def test_a_record_the_mapping_cannot_write_is_a_dead_letter_naming_why(
    run_service: Any, platforms: Any, tmp_path: Path
) -> None:
    folder = _folder(tmp_path)
    gsxt, _ = await platforms(folder)
    svc = await run_service(lambda: spec(_settings(folder)))
    await publish_tasks(svc, [task_assigned("T-1", dept="jyj")])  # no code in the mapping
    resp = await svc.http.post(
        "/results", json=result_body("T-1"), headers=svc.auth(Role.PLANNER, "jyj")
    )
    assert resp.status_code == 201, resp.text

    async def dead() -> list[Any]:
        return await svc.ctx.db.pool.fetch(
            "SELECT destination, last_error FROM outbox WHERE state = 'dead' ORDER BY id"
        )

    # The task to 监督平台, and the result to each of the three.
    await eventually(lambda: _dead_count(svc, 4), what="the platforms' dead letters")
    rows = await dead()
    assert [r["destination"] for r in rows] == [
        "platform:jdpt",
        "platform:gsxt",
        "platform:jdpt",
        "platform:zfw",
    ]
    why = "code 'jyj' of field {} is not in code list departments"
    assert why.format("实施机关") in rows[0]["last_error"]
    assert why.format("检查实施机关") in rows[1]["last_error"]
    assert gsxt.calls == {}  # never sent: nothing half right reached the platform

    # The province adds the department to its mappings, checks them and restarts (here: the
    # relay takes the corrected folder, as a restart would), then replays the dead letters.
    fixed = _folder(
        tmp_path / "fixed",
        {
            name: [("  departments:\n", "  departments:\n    jyj: 昌江区教育体育局\n")]
            for name in ("gsxt.yaml", "zfw.yaml", "jdpt.yaml")
        },
    )
    relay = svc.wiring.relay
    await relay.platforms.aclose()
    relay.platforms = load_platforms(fixed, categories=load_categories())
    operator = svc.auth(Role.OPERATOR)
    for d in (await svc.http.get("/deliveries?state=dead", headers=operator)).json():
        replayed = await svc.http.post(f"/deliveries/{d['id']}/replay", headers=operator)
        assert replayed.status_code == 200
    await eventually(lambda: _all_delivered(svc), what="the replayed deliveries made")
    assert set(gsxt.effects) == {"R-T-1:v1:platform:gsxt"}  # the same key as before
    assert gsxt.effects["R-T-1:v1:platform:gsxt"]["检查实施机关"] == "昌江区教育体育局"


async def _dead_count(svc: Any, n: int) -> bool:
    dead = await svc.ctx.db.pool.fetchval("SELECT count(*) FROM outbox WHERE state = 'dead'")
    return int(dead) == n
