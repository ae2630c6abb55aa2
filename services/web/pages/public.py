"""The public site (一公开, `/`): the home page, the company search and a company's page, the four
notices (抽查事项清单, 计划公告, 任务公告, 结果公告), the draws with their public records and the
in-browser verifier (`static/public/verify.js`), and the draw's files served byte for byte.

Anyone may read these pages: no sign-in, nothing of a person in them. Every page works without
JavaScript (filters and paging are plain links and GET forms; the large-text mode is a cookie
set by a link); the verifier is the one script, and it only adds. Pages carry a validator
(`ETag`, answered with 304 when the browser already has the page) and may be kept for
`PAGE_MAX_AGE_S`; the candidate lists never change and may be kept for a year.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations as objects.

import asyncio
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response, StreamingResponse

from services.kit.auth import public
from services.kit.errors import Invalid, NotFound
from services.web.backends import BackendError
from services.web.domain.public import (
    PAGE_SIZE,
    STRATUM_ID,
    Pager,
    back_to,
    etag,
    is_uscc,
    matches_etag,
    page_number,
    search_text,
    stratum_name,
    text_size,
    year_of,
    year_tasks,
)
from services.web.queries.public import Names, PublicReads
from services.web.render import Pages

PAGE_MAX_AGE_S = 60
RECORD_MAX_AGE_S = 60
LIST_MAX_AGE_S = 365 * 24 * 3600
TEXT_SIZE_COOKIE = "text_size"
CODE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,39}", re.ASCII)
REGION = re.compile(r"[0-9]{6}", re.ASCII)
DRAW_TASKS_PAGE = 50
SELECTED_SHOWN = 200

NAV = (
    ("home", "/", "首页"),
    ("search", "/search", "查企业"),
    ("items", "/items", "抽查事项清单"),
    ("plans", "/plans", "计划公告"),
    ("tasks", "/tasks", "任务公告"),
    ("results", "/results", "结果公告"),
    ("draws", "/draws", "抽取记录"),
)
DRAW_STATES = {
    "freezing": "正在冻结候选名单",
    "committed": "已公布承诺值，待确定随机种子",
    "seeded": "已确定随机种子",
    "selected": "已抽取，正在选派人员",
    "completed": "已完成",
    "superseded": "已被重新抽取取代",
}
SEED_SOURCES = {
    "dice": "现场摇号",
    "beacon": "公共随机信标",
    "parties": "多方承诺后揭示",
    "demo": "演示数据",
}
PROGRESS = {
    "not_started": "未开始",
    "in_progress": "检查中",
    "result_recorded": "已录入结果",
    "merged": "已并入其他任务",
    "cancelled": "已取消",
}
KINDS = {"general": "一般检查事项", "priority": "重点检查事项"}
TASK_STATES = {
    "assigned": "已派员",
    "unstaffed": "未能派员",
    "merged": "已并入其他任务",
    "superseded": "所属抽取已被取代",
}


def _this_year() -> int:
    return datetime.now(UTC).astimezone().year


def _code(raw: str | None) -> str:
    value = (raw or "").strip()
    return value if CODE.fullmatch(value) else ""


def _region(raw: str | None) -> str:
    value = (raw or "").strip()
    return value if REGION.fullmatch(value) else ""


def _query(values: dict[str, Any], **changes: Any) -> str:
    """A query string of these filters with some changed (empty values left out)."""
    merged = {**values, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "", 0)})


def _with_large_text(request: Request) -> bool:
    return text_size(request.cookies.get(TEXT_SIZE_COOKIE)) == "large"


def router(*, pages: Pages, reads: PublicReads) -> APIRouter:
    """The public site's routes."""
    r = APIRouter(tags=["一公开"], include_in_schema=False)

    async def render(
        request: Request,
        template: str,
        context: dict[str, Any],
        *,
        nav: str,
        status_code: int = 200,
        max_age: int = PAGE_MAX_AGE_S,
    ) -> Response:
        """A public page with its validator; 304 when the browser has these very bytes."""
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        response = pages.render(
            request,
            template,
            {
                "nav": NAV,
                "current": nav,
                "here": here,
                "this_year": _this_year(),
                "large_text": _with_large_text(request),
                **context,
            },
            status_code=status_code,
        )
        tag = etag(bytes(response.body))
        headers = {
            "ETag": tag,
            # The text size is a cookie: a cache keeps each rendering apart.
            "Vary": "Cookie",
            "Cache-Control": f"public, max-age={max_age}" if status_code == 200 else "no-store",
        }
        if status_code == 200 and matches_etag(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        response.headers.update(headers)
        return response

    @r.get("/favicon.ico")
    @public
    async def favicon() -> Response:
        # Browsers and bookmarks ask for it whatever the page says: the one icon, as SVG.
        return RedirectResponse("/static/favicon.svg", status_code=301)

    # ---- home, search, companies --------------------------------------------------------------

    @r.get("/")
    @public
    async def home(request: Request) -> Response:
        year = year_of(request.query_params.get("year"), default=_this_year()) or _this_year()
        overview, plans, names = await _gather(
            reads.overview(year), reads.plans(year=year, limit=50), reads.names()
        )
        return await render(
            request,
            "public/home.html",
            {"year": year, "overview": overview, "plans": plans["plans"], "names": names},
            nav="home",
        )

    @r.get("/search")
    @public
    async def search(request: Request) -> Response:
        q = search_text(request.query_params.get("q"))
        if is_uscc(q):
            return RedirectResponse(f"/companies/{q}", status_code=303)
        number = page_number(request.query_params.get("page"))
        found: dict[str, Any] = {"total": 0, "companies": []}
        if q:
            found = await reads.companies(q, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        pager = Pager(number=number, size=PAGE_SIZE, total=found["total"])
        return await render(
            request,
            "public/search.html",
            {
                "q": q,
                "found": found["companies"],
                "pager": pager,
                "page_link": lambda n: "/search?" + _query({"q": q}, page=n),
                "names": Names(),
            },
            nav="search",
        )

    @r.get("/companies/{uscc}")
    @public
    async def company(request: Request, uscc: str) -> Response:
        code = uscc.strip().upper()
        if not is_uscc(code):
            raise NotFound("这不是一个统一社会信用代码。", code="invalid_uscc")
        year = _this_year()
        history, plans, names = await _gather(
            reads.company(code), reads.plans(year=year, limit=100), reads.names()
        )
        if not history["registered"] and not history["tasks"]:
            raise NotFound(f"没有统一社会信用代码为 {code} 的市场主体。", code="entity_unknown")
        drawn, triggered = year_tasks(history["tasks"], year)
        return await render(
            request,
            "public/company.html",
            {
                "c": history,
                "year": year,
                "this_year": drawn,
                "triggered_this_year": triggered,
                "plans": plans["plans"],
                "names": names,
                "labels": PROGRESS,
            },
            nav="search",
        )

    # ---- the four notices ---------------------------------------------------------------------

    @r.get("/items")
    @public
    async def items(request: Request) -> Response:
        catalogue, names = await _gather(reads.catalogue(), reads.names())
        department = _code(request.query_params.get("department"))
        kind = request.query_params.get("kind", "")
        kind = kind if kind in KINDS else ""
        q = search_text(request.query_params.get("q"))
        chosen = [
            i
            for i in catalogue.get("items", [])
            if (not department or i["department"]["code"] == department)
            and (not kind or i["kind"] == kind)
            and (not q or q in i["name"] or q in i["code"] or q in i.get("legal_basis", ""))
        ]
        number = page_number(request.query_params.get("page"))
        pager = Pager(number=number, size=PAGE_SIZE, total=len(chosen))
        filters = {"department": department, "kind": kind, "q": q}
        return await render(
            request,
            "public/items.html",
            {
                "items": chosen[pager.offset : pager.offset + PAGE_SIZE],
                "pager": pager,
                "filters": filters,
                "page_link": lambda n: "/items?" + _query(filters, page=n),
                "departments": sorted(names.departments.items()),
                "kinds": KINDS,
                "names": names,
                "rules_version": catalogue.get("rules_version", ""),
            },
            nav="items",
        )

    def notice_filters(request: Request, *keys: str) -> dict[str, Any]:
        p = request.query_params
        out: dict[str, Any] = {}
        for key in keys:
            if key == "year":
                out[key] = year_of(p.get("year"))
            elif key == "region":
                out[key] = _region(p.get("region"))
            elif key == "q":
                out[key] = search_text(p.get("q"))
            else:
                out[key] = _code(p.get(key))
        return out

    async def notice_page(
        request: Request,
        *,
        kind: str,
        keys: tuple[str, ...],
        fetch: Any,
        rows_key: str,
    ) -> Response:
        filters = notice_filters(request, *keys)
        number = page_number(request.query_params.get("page"))
        names, overview = await _gather(reads.names(), reads.overview(filters.get("year")))
        refused = ""
        try:
            page = await fetch(**filters, offset=(number - 1) * PAGE_SIZE, limit=PAGE_SIZE)
        except (BackendError, Invalid) as exc:
            if getattr(exc, "status", 422) != 422:
                raise
            page, refused = {"total": 0, rows_key: []}, "筛选条件有误，请重新选择。"
        pager = Pager(number=number, size=PAGE_SIZE, total=page["total"])
        return await render(
            request,
            f"public/{kind}.html",
            {
                "rows": page[rows_key],
                "pager": pager,
                "filters": filters,
                "filtered": any(filters.values()),
                "refused": refused,
                "page_link": lambda n: f"/{kind}?" + _query(filters, page=n),
                "options": _options(overview, names),
                "names": names,
                "labels": PROGRESS,
            },
            nav=kind,
        )

    @r.get("/plans")
    @public
    async def plans(request: Request) -> Response:
        return await notice_page(
            request, kind="plans", keys=("year", "department"), fetch=reads.plans, rows_key="plans"
        )

    @r.get("/tasks")
    @public
    async def tasks(request: Request) -> Response:
        return await notice_page(
            request,
            kind="tasks",
            keys=("year", "department", "item", "region", "q", "draw"),
            fetch=reads.tasks,
            rows_key="tasks",
        )

    @r.get("/results")
    @public
    async def results(request: Request) -> Response:
        return await notice_page(
            request,
            kind="results",
            keys=("year", "department", "item", "region", "category", "q"),
            fetch=reads.results,
            rows_key="results",
        )

    # ---- draws ---------------------------------------------------------------------------------

    @r.get("/draws")
    @public
    async def draws(request: Request) -> Response:
        year = year_of(request.query_params.get("year"), default=_this_year()) or _this_year()
        all_draws, plans, overview, names = await _gather(
            reads.draws(), reads.plans(year=year, limit=100), reads.overview(year), reads.names()
        )
        # Every draw of the year's plans, in ceremony too (its commitment is public before the
        # seed), newest first as the draw service lists them.
        groups = [
            {"plan": p, "draws": [d for d in all_draws if d["plan_id"] == p["plan_id"]]}
            for p in plans["plans"]
        ]
        return await render(
            request,
            "public/draws.html",
            {
                "year": year,
                "years": overview["years"] or [year],
                "groups": groups,
                "states": DRAW_STATES,
                "names": names,
            },
            nav="draws",
        )

    @r.get("/draws/{draw_id}")
    @public
    async def draw(request: Request, draw_id: str) -> Response:
        if not CODE.fullmatch(draw_id):
            raise NotFound(f"没有编号为 {draw_id} 的抽取。", code="draw_unknown")
        number = page_number(request.query_params.get("tasks_page"))
        found, names = await _gather(reads.draw(draw_id), reads.names())
        status = found["status"]
        plan, task_rows = await _gather(
            reads.plan(status["plan_id"]),
            reads.draw_tasks(draw_id, offset=(number - 1) * DRAW_TASKS_PAGE, limit=DRAW_TASKS_PAGE),
        )
        record = found["record"]
        strata = (record or found["commitment"] or {}).get("strata", [])
        uscc = search_text(request.query_params.get("uscc"))
        return await render(
            request,
            "public/draw.html",
            {
                "status": status,
                "record": record,
                "commitment": found["commitment"],
                "strata": [
                    {**s, "parts": stratum_name(s["stratum_id"])}
                    for s in sorted(strata, key=lambda s: s["stratum_id"].encode())
                ],
                "plan": plan,
                "tasks": task_rows,
                "pager": Pager(number=number, size=DRAW_TASKS_PAGE, total=status.get("tasks") or 0),
                "page_link": lambda n: f"/draws/{draw_id}?tasks_page={n}#tasks",
                "names": names,
                "states": DRAW_STATES,
                "task_states": TASK_STATES,
                "sources": SEED_SOURCES,
                "labels": PROGRESS,
                "uscc": uscc if is_uscc(uscc) else "",
                "selected_shown": SELECTED_SHOWN,
                "origin": str(request.base_url).rstrip("/"),
            },
            nav="draws",
        )

    # ---- the draw's public files, byte for byte -------------------------------------------------

    @r.get("/draws/{draw_id}/record.json")
    @public
    async def record_file(request: Request, draw_id: str) -> Response:
        if not CODE.fullmatch(draw_id):
            raise NotFound(f"no draw {draw_id}")
        body = await reads.record_bytes(draw_id)
        tag = etag(body, weak=False)
        headers = {
            "ETag": tag,
            # A redraw adds `superseded_by` and `redraw` to the record: kept briefly only.
            "Cache-Control": f"public, max-age={RECORD_MAX_AGE_S}",
            "Access-Control-Allow-Origin": "*",
        }
        if matches_etag(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type="application/json", headers=headers)

    @r.get("/draws/{draw_id}/candidates/{stratum_id}.txt")
    @public
    async def candidate_file(request: Request, draw_id: str, stratum_id: str) -> Response:
        if not CODE.fullmatch(draw_id) or not STRATUM_ID.fullmatch(stratum_id):
            raise NotFound(f"no candidate list {stratum_id} in draw {draw_id}")
        # A frozen list never changes (the draw service refuses any change to it): its name
        # is its validator, and it may be kept for a year.
        tag = f'"{draw_id}/{stratum_id}"'
        headers = {
            "ETag": tag,
            "Cache-Control": f"public, max-age={LIST_MAX_AGE_S}, immutable",
            "Access-Control-Allow-Origin": "*",
        }
        if matches_etag(request.headers.get("if-none-match"), tag):
            return Response(status_code=304, headers=headers)
        chunks = await reads.candidate_list(draw_id, stratum_id)
        return StreamingResponse(chunks, media_type="text/plain; charset=utf-8", headers=headers)

    # ---- 适老化: the large-text mode, a cookie set by a link (no script needed) ----------------

    @r.get("/display")
    @public
    async def display(request: Request) -> Response:
        size = text_size(request.query_params.get("text"))
        response = RedirectResponse(back_to(request.query_params.get("next")), status_code=303)
        if size == "large":
            response.set_cookie(
                TEXT_SIZE_COOKIE,
                "large",
                max_age=365 * 24 * 3600,
                httponly=True,
                samesite="lax",
                secure=request.url.scheme == "https",
                path="/",
            )
        else:
            response.delete_cookie(TEXT_SIZE_COOKIE, path="/")
        response.headers["Cache-Control"] = "no-store"
        return response

    return r


async def _gather(*aws: Any) -> Any:
    return await asyncio.gather(*aws)


def _options(overview: dict[str, Any], names: Names) -> dict[str, Any]:
    """The values each filter offers, with their names."""
    return {
        "years": overview.get("years", []),
        "departments": [(c, names.department(c)) for c in overview.get("departments", [])],
        "items": [
            (i["code"], f"{i['name']}（{names.department(i['department'])}）")
            for i in overview.get("items", [])
        ],
        "regions": _regions(overview.get("regions", [])),
        "categories": [
            (c["code"], c["name"]) for c in overview.get("categories", []) if c.get("code")
        ],
    }


def _regions(codes: Iterable[str]) -> list[tuple[str, str]]:
    """The regions of the tasks, each prefecture above its counties (a prefecture takes in
    its counties when chosen)."""
    out: list[tuple[str, str]] = []
    seen: set[str] = set()
    for code in sorted(codes):
        prefecture = code[:4] + "00"
        if prefecture != code and prefecture not in seen:
            seen.add(prefecture)
            out.append((prefecture, f"{Names.region(prefecture)}（全部）"))
        if code not in seen:
            seen.add(code)
            out.append((code, Names.region(code)))
    return out
