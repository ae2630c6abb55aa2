"""The public site (一公开) of the web service, on real PostgreSQL and NATS, with the services it
reads played by one small HTTP app on a free port whose answers are the services' contracts
(validated by their models): hostile names escaped on every page, validators and caching,
the large-text cookie, filters passed on with names instead of codes, the draw's files byte for
byte. The real services behind the same pages are driven in tests/browser/test_public_site.py.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from datetime import UTC, date, datetime
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.responses import JSONResponse, Response

from contracts.draw import DrawRecord, DrawStatus
from contracts.planner import ItemCatalogue
from contracts.publisher import (
    CompanyHistory,
    CompanyPage,
    PlanNoticePage,
    PublicOverview,
    ResultNoticePage,
    TaskNoticePage,
)
from services.web.app import spec as web_spec

# Names from an import file: HTML, a script, a broken-out attribute, a right-to-left override
# and an escape character. None of it may act on a page.
EVIL = '<script>alert(1)</script>"><img src=x onerror=alert(2)>\u202egnp.exe\x1b[31m瓷业'
USCC = "91360202MA35AAAA1A"
NEVER = "91360202MA35XXXX9X"
LIST = b"91360202MA35AAAA1A\n91360202MA35BBBB2B\n"
SID = "2026.SCJG-001.B.360202"
DEPT = {"code": "SCJG", "name": "昌江区市场监督管理局"}


def _task(**over: Any) -> dict[str, Any]:
    return {
        "task_id": f"D-1:{USCC}",
        "draw_id": "D-1",
        "plan_id": "P-1",
        "plan_title": EVIL,
        "plan_year": 2026,
        "uscc": USCC,
        "entity_name": EVIL,
        "region_code": "360202",
        "departments": ["SCJG"],
        "items": [{"code": "SCJG-001", "name": EVIL, "department": "SCJG"}],
        "period_start": "2026-03-01",
        "period_end": "2026-11-30",
        "progress": "result_recorded",
        **over,
    }


def _result() -> dict[str, Any]:
    return {
        "result_id": f"R-D-1:{USCC}",
        "version": 2,
        "task_id": f"D-1:{USCC}",
        "draw_id": "D-1",
        "plan_id": "P-1",
        "uscc": USCC,
        "entity_name": EVIL,
        "region_code": "360202",
        "departments": ["SCJG"],
        "check_date": "2026-04-10",
        "due_date": "2026-05-11",
        "published_at": "2026-04-12T02:00:00Z",
        "violation": True,
        "items": [
            {
                "item_code": "SCJG-001",
                "item_name": EVIL,
                "category": "2",
                "category_name": "违反市场监管相关规定",
                "problems": EVIL,
            }
        ],
        "follow_up": {"rectify_by": "2026-05-10", "rectification": EVIL, "refer": True},
        "correction_reason": EVIL,
        "history": [
            {
                "version": 1,
                "published_at": "2026-04-11T02:00:00Z",
                "categories": ["未发现问题"],
                "correction_reason": None,
            }
        ],
    }


def _record() -> dict[str, Any]:
    digest = hashlib.sha256(LIST).hexdigest()
    return DrawRecord(
        draw_id="D-1",
        plan_id="P-1",
        rules_version="r" * 64,
        seed="31415926535897932384",
        seed_source="dice",
        commitment_sha256="c" * 64,
        strata=[
            {
                "stratum_id": SID,
                "n": 2,
                "bp": 500,
                "k": 1,
                "candidates_sha256": digest,
                "selected": [USCC],
            }
        ],
        redraw={
            "reason": EVIL,
            "requested_by": "officer.a",
            "confirmed_by": "officer.b",
            "at": datetime(2026, 3, 2, tzinfo=UTC),
        },
        superseded_by="D-2",
    ).model_dump(mode="json")


class Services:
    """The four services' public answers, one app; counts the calls by path."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.params: dict[str, dict[str, str]] = {}
        app = FastAPI()
        self.app = app

        @app.middleware("http")
        async def count(request: Any, call_next: Any) -> Any:
            self.calls[request.url.path] += 1
            self.params[request.url.path] = dict(request.query_params)
            return await call_next(request)

        def page(model: Any, key: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
            return model.model_validate(
                {"total": len(rows), "offset": 0, "limit": 20, key: rows}
            ).model_dump(mode="json")

        @app.get("/items")
        def items() -> Any:
            return ItemCatalogue.model_validate(
                {
                    "rules_version": "v" * 64,
                    "items": [
                        {
                            "code": "SCJG-001",
                            "name": EVIL,
                            "department": DEPT,
                            "kind": "general",
                            "legal_basis": EVIL,
                            "methods": ["documents"],
                            "applies_to": {},
                            "checklist": [
                                {"id": "Q1", "question": EVIL, "basis": EVIL, "expects": "yes"}
                            ],
                        }
                    ],
                }
            ).model_dump(mode="json")

        @app.get("/public/result-categories.json")
        def categories() -> Any:
            return {
                "version": "1",
                "categories": [
                    {"code": "2", "name": "违反市场监管相关规定", "parent": None, "violation": True}
                ],
            }

        @app.get("/public/overview.json")
        def overview(year: int | None = None) -> Any:
            return PublicOverview(
                year=year or 2026,
                years=[2026],
                plans=1,
                draws=1,
                tasks=1,
                results=1,
                violations=1,
                departments=["SCJG"],
                regions=["360202"],
                items=[{"code": "SCJG-001", "name": EVIL, "department": "SCJG"}],
                categories=[{"code": "2", "name": "违反市场监管相关规定"}],
            ).model_dump(mode="json")

        plan = {
            "plan_id": "P-1",
            "year": 2026,
            "title": EVIL,
            "departments": ["SCJG"],
            "approved_at": "2026-02-01T00:00:00Z",
            "strata": 1,
            "rules_version": "v" * 64,
            "items": [{"code": "SCJG-001", "name": EVIL, "department": "SCJG", "kind": "general"}],
            "draws": ["D-1"],
        }

        @app.get("/public/notices/plans.json")
        def plans() -> Any:
            return page(PlanNoticePage, "plans", [plan])

        @app.get("/public/notices/tasks.json")
        def tasks() -> Any:
            return page(TaskNoticePage, "tasks", [_task()])

        @app.get("/public/notices/results.json")
        def results() -> Any:
            return page(ResultNoticePage, "results", [_result()])

        @app.get("/public/companies.json")
        def companies() -> Any:
            row = {
                "uscc": USCC,
                "entity_name": EVIL,
                "region_code": "360202",
                "tasks": 1,
                "results": 1,
                "last_period_end": "2026-11-30",
            }
            return page(CompanyPage, "companies", [row])

        @app.get("/public/companies/{uscc}.json")
        def company(uscc: str) -> Any:
            known = uscc == USCC
            return CompanyHistory(
                uscc=uscc,
                entity_name=EVIL if known else None,
                region_code="360202" if known else None,
                tasks=[_task()] if known else [],
                results=[_result()] if known else [],
            ).model_dump(mode="json")

        @app.get("/entities/{uscc}")
        def entity(uscc: str) -> Any:
            if uscc != NEVER:
                return JSONResponse(
                    {"error": {"code": "not_found", "message": "no"}}, status_code=404
                )
            return {
                "entity": {
                    "uscc": NEVER,
                    "name": "从未抽中的瓷厂",
                    "entity_type": "企业",
                    "region_code": "360202",
                    "industry_code": "C",
                    "risk_class": "D",
                },
                "history": [],
            }

        @app.get("/draws")
        def draws() -> Any:
            return [
                {"draw_id": "D-3", "plan_id": "P-1", "state": "committed"},
                {"draw_id": "D-1", "plan_id": "P-1", "state": "superseded"},
            ]

        @app.get("/draws/{draw_id}/commitment")
        def commitment(draw_id: str) -> Any:
            record = _record()
            return {
                "draw_id": draw_id,
                "plan_id": "P-1",
                "rules_version": "r" * 64,
                "snapshot_id": "S-1",
                "commitment_sha256": "d" * 64,
                "strata": [
                    {k: v for k, v in record["strata"][0].items() if k not in ("selected", "count")}
                ],
                "committed_at": "2026-03-01T00:00:00Z",
            }

        @app.get("/draws/{draw_id}")
        def status(draw_id: str) -> Any:
            if draw_id == "D-3":
                return DrawStatus(
                    draw_id="D-3", plan_id="P-1", state="committed", commitment_sha256="d" * 64
                ).model_dump(mode="json")
            if draw_id != "D-1":
                return JSONResponse(
                    {"error": {"code": "not_found", "message": "no draw"}}, status_code=404
                )
            return DrawStatus(
                draw_id="D-1",
                plan_id="P-1",
                state="superseded",
                commitment_sha256="c" * 64,
                seed_source="dice",
                seeded_at=datetime(2026, 3, 1, tzinfo=UTC),
                superseded_by="D-2",
                redraw_reason=EVIL,
                tasks=1,
            ).model_dump(mode="json")

        @app.get("/draws/{draw_id}/record")
        def record(draw_id: str) -> Any:
            return _record()

        @app.get("/draws/{draw_id}/tasks")
        def draw_tasks(draw_id: str) -> Any:
            task = {
                **_task(),
                "batch": 1,
                "team": [{"inspector_id": "I-1", "name": EVIL, "department": "SCJG"}],
            }
            return [
                {
                    "task": task,
                    "state": "assigned",
                    "merged_into": None,
                    "progress": "result_recorded",
                }
            ]

        @app.get("/draws/{draw_id}/candidates/{name}")
        def candidates(draw_id: str, name: str) -> Any:
            if name != f"{SID}.txt":
                return JSONResponse(
                    {"error": {"code": "not_found", "message": "no list"}}, status_code=404
                )
            return Response(LIST, media_type="text/plain; charset=utf-8")


@pytest.fixture
async def site(run_service: Any, serve_app: Any, monkeypatch: Any) -> Any:
    services = Services()
    url = await serve_app(services.app)
    for name in ("registry", "planner", "draw", "publisher"):
        monkeypatch.setenv(f"SPOTCHECK_WEB_{name.upper()}_URL", url)
    svc = await run_service(web_spec)
    svc.services = services
    return svc


PAGES = [
    "/",
    "/search?q=瓷业",
    f"/companies/{USCC}",
    "/items",
    "/plans",
    "/tasks",
    "/results",
    "/draws",
    "/draws/D-1",
]


@pytest.mark.parametrize("path", PAGES)
async def test_hostile_names_do_nothing_on_any_page(site: Any, path: str) -> None:
    page = await site.http.get(path)
    assert page.status_code == 200, page.text[-2000:]
    html = page.text
    assert "<script>alert" not in html and "<img src=x" not in html
    assert "\u202e" not in html and "\x1b" not in html
    # the only scripts are the site's own files
    for tag in re.findall(r"<script[^>]*>", html):
        assert re.fullmatch(
            r'<script (type="module" )?src="/static/[a-z/.]+\.js"( defer)?>', tag
        ), tag
    if path not in ("/", "/draws"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


async def test_department_and_region_names_not_codes(site: Any) -> None:
    html = (await site.http.get("/results")).text
    assert "昌江区市场监督管理局" in html and "景德镇市昌江区" in html
    assert "责令于 2026年5月10日 前整改" in html and "已移送案件办理" in html
    assert "第 2 版" in html and "第 1 版" in html  # the correction and what it replaced


async def test_filters_reach_the_publisher_checked(site: Any) -> None:
    r = await site.http.get(
        "/results",
        params={
            "year": "2026",
            "department": "SCJG",
            "region": "360200",
            "category": "2",
            "q": " 青花\u202e ",
            "page": "3",
            "item": "<b>",
        },
    )
    assert r.status_code == 200
    sent = site.services.params["/public/notices/results.json"]
    assert sent == {
        "year": "2026",
        "department": "SCJG",
        "region": "360200",
        "category": "2",
        "q": "青花",
        "offset": "40",
        "limit": "20",
    }  # `<b>` is no item code: dropped
    bad = await site.http.get("/tasks", params={"region": "36", "year": "abc"})
    assert bad.status_code == 200
    assert site.services.params["/public/notices/tasks.json"] == {"offset": "0", "limit": "20"}


async def test_pages_carry_validators_and_answer_304(site: Any) -> None:
    first = await site.http.get("/items")
    assert first.headers["cache-control"] == "public, max-age=60"
    assert first.headers["vary"] == "Cookie" and first.headers["etag"].startswith('W/"')
    again = await site.http.get("/items", headers={"If-None-Match": first.headers["etag"]})
    assert again.status_code == 304 and again.content == b""
    missing = await site.http.get("/draws/D-9")
    assert missing.status_code == 404 and missing.headers["cache-control"] == "no-store"


async def test_the_draws_files_byte_for_byte(site: Any) -> None:
    record = await site.http.get("/draws/D-1/record.json")
    assert record.status_code == 200 and record.json() == _record()
    assert record.headers["etag"] == f'"{hashlib.sha256(record.content).hexdigest()[:32]}"'
    assert record.headers["access-control-allow-origin"] == "*"
    listed = await site.http.get(f"/draws/D-1/candidates/{SID}.txt")
    assert listed.content == LIST
    assert listed.headers["cache-control"] == "public, max-age=31536000, immutable"
    calls = site.services.calls[f"/draws/D-1/candidates/{SID}.txt"]
    kept = await site.http.get(
        f"/draws/D-1/candidates/{SID}.txt", headers={"If-None-Match": listed.headers["etag"]}
    )
    assert kept.status_code == 304
    assert site.services.calls[f"/draws/D-1/candidates/{SID}.txt"] == calls  # not asked again
    assert (await site.http.get("/draws/D-1/candidates/nope.txt")).status_code == 404
    assert (await site.http.get("/draws/D-1/candidates/a%2Fb.txt")).status_code == 404


async def test_the_draw_page_says_it_was_superseded_and_why(site: Any) -> None:
    html = (await site.http.get("/draws/D-1")).text
    assert "本次抽取已被重新抽取取代" in html and 'href="/draws/D-2"' in html
    assert "officer.a 提出，officer.b 确认" in html
    assert 'data-record="/draws/D-1/record.json"' in html
    assert 'data-candidates="/draws/D-1/candidates/{stratum_id}.txt"' in html
    assert f'data-verdict="{SID}"' in html and "0.05%" not in html and "5%" in html


async def test_a_draw_awaiting_its_seed_shows_its_commitment(site: Any) -> None:
    listed = (await site.http.get("/draws")).text
    assert 'href="/draws/D-3"' in listed and "已公布承诺值，待确定随机种子" in listed
    html = (await site.http.get("/draws/D-3")).text
    assert "d" * 64 in html and SID in html and "尚未确定" in html
    assert "data-verifier" not in html and "verify.js" not in html  # nothing to verify yet


async def test_large_text_is_a_cookie_set_by_a_link(site: Any) -> None:
    plain = await site.http.get("/items")
    assert '<html lang="zh-CN">' in plain.text and "大字版" in plain.text
    go = await site.http.get("/display", params={"text": "large", "next": "/items?page=1"})
    assert go.status_code == 303 and go.headers["location"] == "/items?page=1"
    assert "text_size=large" in go.headers["set-cookie"]
    large = await site.http.get("/items")  # the client keeps the cookie, as a browser does
    assert '<html lang="zh-CN" class="large-text">' in large.text and "标准字号" in large.text
    assert large.headers["etag"] != plain.headers["etag"]
    back = await site.http.get("/display", params={"text": "normal", "next": "//evil.example/"})
    assert back.headers["location"] == "/" and 'text_size=""' in back.headers["set-cookie"]


async def test_search_and_companies(site: Any) -> None:
    go = await site.http.get("/search", params={"q": USCC.lower()})
    assert go.status_code == 303 and go.headers["location"] == f"/companies/{USCC}"
    never = await site.http.get(f"/companies/{NEVER}")
    assert never.status_code == 200 and "从未抽中的瓷厂" in never.text
    assert "至今未被随机抽中" in never.text and "D类" not in never.text  # no risk class shown
    assert (await site.http.get("/companies/91360202MA35QQQQ0Q")).status_code == 404
    assert (await site.http.get("/companies/<script>")).status_code == 404
    found = await site.http.get("/search", params={"q": "瓷业"})
    assert f'href="/companies/{USCC}"' in found.text


@pytest.mark.parametrize("when", [date(2026, 1, 1)])
async def test_home_shows_this_years_figures(site: Any, when: date) -> None:
    html = (await site.http.get("/", params={"year": when.year})).text
    assert "2026年度概况" in html and 'href="/draws/D-1"' in html
    assert 'role="search"' in html and 'name="q"' in html


async def test_head_and_the_icon(site: Any) -> None:
    page = await site.http.get("/items")
    head = await site.http.head("/items")
    assert head.status_code == 200 and head.content == b""
    assert head.headers["etag"] == page.headers["etag"]
    assert head.headers["content-type"].startswith("text/html")
    icon = await site.http.get("/favicon.ico")
    assert icon.status_code == 301 and icon.headers["location"] == "/static/favicon.svg"
    svg = await site.http.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
