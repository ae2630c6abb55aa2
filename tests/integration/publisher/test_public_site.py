"""The public site's reads (一公开) on real NATS and PostgreSQL: pages of tasks, results and plans
filtered by year, department, item, region, category and a search (part of a Chinese name or the
start of a USCC), counted and cut in SQL; a company's history with corrections and follow-up; a
year's overview; refused filters; and the trigram index a Chinese name part is found through."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from typing import Any

import pytest

from contracts.common import Role
from services.publisher.app import spec
from services.publisher.settings import PublisherSettings

from .conftest import publish_tasks, result_body, task_assigned

EVIL = '<script>alert(1)</script>"\u202egnp.exe 瓷业'


def _task(task_id: str, **kw: Any) -> Any:
    region = kw.pop("region", "360202")
    start = kw.pop("start", date(2026, 3, 1))
    item = kw.pop("item", "ITEM-01")
    draw = kw.pop("draw", "D-1")
    t = task_assigned(task_id, **kw)
    return t.model_copy(
        update={
            "region_code": region,
            "period_start": start,
            "period_end": date(start.year, 11, 30),
            "draw_id": draw,
            "plan_id": f"P{start.year}",
            "items": [t.items[0].model_copy(update={"code": item, "name": f"事项{item}"})],
        }
    )


async def _plans(svc: Any) -> None:
    for year, depts in ((2025, ["scjg"]), (2026, ["scjg", "sthj"])):
        await svc.ctx.db.pool.execute(
            "INSERT INTO plans (plan_id, year, title, departments, approved_at, strata,"
            " rules_version, items) VALUES ($1, $2, $3, $4, $5, 3, 'r', $6)",
            f"P{year}",
            year,
            f"{year}年度抽查计划",
            depts,
            datetime(year, 2, 1, tzinfo=UTC),
            [
                {"code": "ITEM-01", "name": "事项ITEM-01", "department": "scjg", "kind": "general"},
                {
                    "code": "ITEM-02",
                    "name": "事项ITEM-02",
                    "department": depts[-1],
                    "kind": "general",
                },
            ],
        )
    await svc.ctx.db.pool.execute(
        "INSERT INTO draws (draw_id, plan_id, completed_at, tasks) VALUES"
        " ('D-1', 'P2026', now(), 5), ('D-0', 'P2025', now() - interval '1 year', 1)"
    )


async def _published(svc: Any, n: int) -> None:
    for _ in range(400):
        got = await svc.ctx.db.pool.fetchval(
            "SELECT count(*) FROM results WHERE published_at IS NOT NULL"
        )
        if got == n:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{got} of {n} results published")


@pytest.fixture
async def site(run_service: Any) -> Any:
    svc = await run_service(lambda: spec(PublisherSettings(relay_batch=50)))
    await _plans(svc)
    await publish_tasks(
        svc,
        [
            _task("T-1", name="景德镇青花瓷业有限公司", uscc="91360202MA35AAAA1A"),
            _task("T-2", name=EVIL, uscc="91360202MA35BBBB2B", item="ITEM-02"),
            _task(
                "T-3",
                name="浮梁县红茶专业合作社",
                uscc="93360222MA35CCCC3C",
                region="360222",
                dept="sthj",
                item="ITEM-02",
            ),
            _task("T-4", name="乐平市青花陶瓷店", uscc="92360281MA35DDDD4D", region="360281"),
            _task(
                "T-5",
                name="景德镇青花瓷业有限公司",
                uscc="91360202MA35AAAA1A",
                start=date(2025, 3, 1),
                draw="D-0",
            ),
            _task("T-6", name="九江庐山云雾茶行", uscc="92360402MA35EEEE6E", region="360402"),
        ],
    )
    staff = svc.auth(Role.PLANNER, "scjg")
    bodies = [
        result_body("T-1", category="1", check_date="2026-04-10"),
        result_body(
            "T-2",
            category="2",
            check_date="2026-04-12",
            items=[{"item_code": "ITEM-02", "category": "2", "problems": "<b>未公示</b>年报"}],
            follow_up={"rectify_by": "2026-05-12", "rectification": "补报并公示年度报告"},
        ),
        result_body("T-5", category="1", check_date="2025-04-10"),
    ]
    for body in bodies:
        r = await svc.http.post("/results", json=body, headers=staff)
        assert r.status_code == 201, r.text
    env = svc.auth(Role.PLANNER, "sthj")
    t3 = {"check_date": "2026-05-01", "items": [{"item_code": "ITEM-02", "category": "E"}]}
    assert (
        await svc.http.post("/results", json=result_body("T-3", **t3), headers=env)
    ).status_code == 201
    await _published(svc, 4)
    t3["items"] = [{"item_code": "ITEM-02", "category": "1"}]
    fix = result_body("T-3", corrects_version=1, correction_reason="录入错误", **t3)
    assert (await svc.http.post("/results", json=fix, headers=env)).status_code == 201
    await _published(svc, 5)
    return svc


async def _get(svc: Any, path: str, **params: Any) -> Any:
    r = await svc.http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _ids(page: dict[str, Any], key: str = "tasks") -> list[str]:
    return [row["task_id"] for row in page[key]]


async def test_task_notices_filter_count_and_page(site: Any) -> None:
    every = await _get(site, "/public/notices/tasks.json")
    assert every["total"] == 6 and _ids(every)[-1] == "T-5"  # newest period first
    assert _ids(await _get(site, "/public/notices/tasks.json", year=2025)) == ["T-5"]
    assert _ids(await _get(site, "/public/notices/tasks.json", department="sthj")) == ["T-3"]
    assert set(_ids(await _get(site, "/public/notices/tasks.json", item="ITEM-02"))) == {
        "T-2",
        "T-3",
    }
    # 360200 (景德镇市) takes in its districts and counties, not 九江 (3604…)
    prefecture = await _get(site, "/public/notices/tasks.json", region="360200")
    assert prefecture["total"] == 5 and "T-6" not in _ids(prefecture)
    assert _ids(await _get(site, "/public/notices/tasks.json", region="360222")) == ["T-3"]
    # a part of a Chinese name; the start of a USCC (any case); a whole USCC
    assert set(_ids(await _get(site, "/public/notices/tasks.json", q="青花"))) == {
        "T-1",
        "T-4",
        "T-5",
    }
    assert set(_ids(await _get(site, "/public/notices/tasks.json", q="91360202ma35a"))) == {
        "T-1",
        "T-5",
    }
    assert _ids(await _get(site, "/public/notices/tasks.json", q="93360222MA35CCCC3C")) == ["T-3"]
    # LIKE's wildcards typed by a visitor are plain characters
    assert (await _get(site, "/public/notices/tasks.json", q="%"))["total"] == 0
    page = await _get(site, "/public/notices/tasks.json", limit=2, offset=2)
    assert page["total"] == 6 and _ids(page) == _ids(every)[2:4]
    row = next(t for t in every["tasks"] if t["task_id"] == "T-1")
    assert row["plan_title"] == "2026年度抽查计划" and row["progress"] == "result_recorded"
    assert row["items"] == [
        {"code": "ITEM-01", "name": "事项ITEM-01", "department": "scjg", "legal_basis": ""}
    ]
    # a hostile name travels as data: JSON carries it exactly, the pages escape it
    assert any(t["entity_name"] == EVIL for t in every["tasks"])


async def test_result_notices_latest_version_categories_and_follow_up(site: Any) -> None:
    every = await _get(site, "/public/notices/results.json")
    assert every["total"] == 4
    corrected = next(r for r in every["results"] if r["task_id"] == "T-3")
    assert corrected["version"] == 2 and corrected["correction_reason"] == "录入错误"
    assert [h["categories"] for h in corrected["history"]] == [["发现问题已责令改正"]]
    found = await _get(site, "/public/notices/results.json", category="A")  # takes in 2
    assert [r["task_id"] for r in found["results"]] == ["T-2"]
    t2 = found["results"][0]
    assert t2["violation"] and t2["items"][0]["item_name"] == "事项ITEM-02"
    assert t2["items"][0]["problems"] == "<b>未公示</b>年报"
    assert t2["follow_up"]["rectify_by"] == "2026-05-12"
    assert (await _get(site, "/public/notices/results.json", category="E"))["total"] == 0
    assert [
        r["task_id"]
        for r in (await _get(site, "/public/notices/results.json", year=2025))["results"]
    ] == ["T-5"]
    assert (await _get(site, "/public/notices/results.json", q="青花", year=2026))["total"] == 1


async def test_plans_companies_and_overview(site: Any) -> None:
    plans = await _get(site, "/public/notices/plans.json")
    assert [p["plan_id"] for p in plans["plans"]] == ["P2026", "P2025"]
    assert plans["plans"][0]["draws"] == ["D-1"]
    assert [
        p["plan_id"]
        for p in (await _get(site, "/public/notices/plans.json", department="sthj"))["plans"]
    ] == ["P2026"]

    one = await _get(site, "/public/notices/plans.json", plan="P2025")
    assert [p["title"] for p in one["plans"]] == ["2025年度抽查计划"]

    found = await _get(site, "/public/companies.json", q="青花瓷")
    assert [(c["uscc"], c["tasks"], c["results"]) for c in found["companies"]] == [
        ("91360202MA35AAAA1A", 2, 2)
    ]
    assert (await _get(site, "/public/companies.json"))["total"] == 0  # nothing asked
    history = await _get(site, "/public/companies/91360202MA35BBBB2B.json")
    assert history["entity_name"] == EVIL and [t["task_id"] for t in history["tasks"]] == ["T-2"]
    assert history["results"][0]["follow_up"]["rectification"] == "补报并公示年度报告"
    never = await _get(site, "/public/companies/91360202MA35ZZZZ9Z.json")
    assert never == {
        "uscc": "91360202MA35ZZZZ9Z",
        "entity_name": None,
        "region_code": None,
        "tasks": [],
        "results": [],
    }

    o = await _get(site, "/public/overview.json", year=2026)
    assert (o["plans"], o["draws"], o["tasks"], o["results"], o["violations"]) == (1, 1, 5, 3, 1)
    assert o["years"] == [2026, 2025] and o["departments"] == ["scjg", "sthj"]
    assert o["regions"] == ["360202", "360222", "360281", "360402"]
    assert {i["code"] for i in o["items"]} == {"ITEM-01", "ITEM-02"}
    assert o["categories"][0] == {"code": "1", "name": "未发现问题", "department": ""}


@pytest.mark.parametrize(
    ("path", "params", "field"),
    [
        ("/public/notices/tasks.json", {"region": "36"}, "region"),
        ("/public/notices/tasks.json", {"year": "1800"}, "year"),
        ("/public/notices/tasks.json", {"q": "青花\x00"}, "q"),
        ("/public/notices/tasks.json", {"department": "<b>"}, "department"),
        ("/public/notices/results.json", {"category": "nope"}, "category"),
        ("/public/companies.json", {"q": "x" * 51}, "q"),
    ],
)
async def test_refused_filters_name_their_parameter(
    run_service: Any, path: str, params: dict[str, str], field: str
) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    r = await svc.http.get(path, params=params)
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["loc"] == ["query", field]


async def test_invalid_uscc_is_refused(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    r = await svc.http.get("/public/companies/not-a-code.json")
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_uscc"


async def test_a_chinese_name_part_is_found_through_the_trigram_index(run_service: Any) -> None:
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    async with svc.ctx.db.pool.acquire() as conn:
        await conn.execute("SET enable_seqscan = off")
        plan = await conn.fetch(
            "EXPLAIN (FORMAT JSON) SELECT task_id FROM tasks WHERE entity_name LIKE '%青花瓷%'"
        )
    text = json.dumps(plan[0][0], ensure_ascii=False)
    assert "tasks_entity_name_trgm" in text, text


@pytest.mark.parametrize(
    "order", [("v1", "v2"), ("v2", "v1"), ("both",)], ids=["in-order", "reversed", "one-statement"]
)
async def test_the_latest_public_version_is_marked_whatever_the_order(
    run_service: Any, order: tuple[str, ...]
) -> None:
    """The mark behind 结果公告 (migration 007's trigger): only the highest published version
    of a result is shown, whether versions are published in order, out of order, or together."""
    svc = await run_service(lambda: spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [task_assigned("T-1")])
    staff = svc.auth(Role.PLANNER, "scjg")
    assert (
        await svc.http.post("/results", json=result_body("T-1"), headers=staff)
    ).status_code == 201
    fix = result_body("T-1", category="2", corrects_version=1, correction_reason="录入错误")
    assert (await svc.http.post("/results", json=fix, headers=staff)).status_code == 201
    pool = svc.ctx.db.pool
    versions = {"v1": [1], "v2": [2], "both": [1, 2]}
    for step in order:
        await pool.execute(
            "UPDATE results SET published_at = now() WHERE version = ANY($1::int[])",
            versions[step],
        )
    marks = await pool.fetch("SELECT version, public_superseded FROM results ORDER BY version")
    assert [(m["version"], m["public_superseded"]) for m in marks] == [(1, True), (2, False)]
    page = await _get(svc, "/public/notices/results.json")
    assert page["total"] == 1 and page["results"][0]["version"] == 2
    assert [h["version"] for h in page["results"][0]["history"]] == [1]
