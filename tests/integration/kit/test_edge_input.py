"""Bad input gets a clear 4xx, never a 500 (issue 17): the findings, one by one.

Text with a control character (NUL above all, which PostgreSQL refuses) in a body, a query or
a path; a batch body that is missing, malformed or not JSON; paging numbers and row ids that
are negative or too long for PostgreSQL. Each is refused at the edge with a 422 (415 for the
wrong media type) naming the field, and the request id of the answer is its own, 500s too.
"""

from __future__ import annotations

import copy
from typing import Any

import pytest
from fastapi import APIRouter

from contracts.common import Role
from services.draw.app import spec as draw_spec
from services.kit.auth import public
from services.kit.service import ServiceContext, ServiceSpec
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_service
from services.publisher.settings import PublisherSettings
from services.registry.app import spec as registry_spec
from tests.integration.planner.support import SIM_PLAN, serving_stats

NUL = "\u0000"
HUGE = "99999999999999999999"  # 20 digits: past PostgreSQL's bigint


def _publisher() -> ServiceSpec[Any]:
    return publisher_service(PublisherSettings(relay_enabled=False))


def _refused(r: Any, loc: list[Any], status: int = 422) -> None:
    assert r.status_code == status, (r.status_code, r.text)
    body = r.json()["error"]
    assert body["request_id"] == r.headers["x-request-id"]
    assert any(d.get("loc") == loc for d in body["details"]), (loc, body["details"])


def _put(doc: dict[str, Any], path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    out = copy.deepcopy(doc)
    node: Any = out
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return out


@pytest.mark.parametrize(
    "path",
    [
        ("title",),
        ("departments", 0),
        ("lead_department",),
        ("scope", "regions", 0),
        ("scope", "entity_types"),
        ("items", 0, "scope"),
    ],
    ids=lambda p: ".".join(map(str, p)),
)
async def test_nul_in_any_string_of_a_plan_is_refused(run_service, nats_url, path) -> None:
    async with serving_stats(nats_url):
        planner = await run_service(planner_spec)
        plan = {**SIM_PLAN, "plan_id": "P-NUL"}
        if path == ("scope", "entity_types"):
            plan, loc = _put(plan, path, [f"企业{NUL}"]), ["body", *path, 0]
        elif path == ("items", 0, "scope"):
            plan = _put(plan, path, {"regions": ["360202"], "tags": [f"a{NUL}b"]})
            loc = ["body", *path, "tags", 0]
        else:
            plan, loc = _put(plan, path, f"{NUL}SCJG"), ["body", *path]
        headers = planner.auth(Role.POLICY)
        _refused(await planner.http.post("/plans", json=plan, headers=headers), loc)
        r = await planner.http.get("/plans/P-NUL", headers=headers)
        assert r.status_code == 404  # nothing was stored


async def test_control_characters_in_queries_and_paths_are_refused(run_service) -> None:
    publisher = await run_service(_publisher)
    registry = await run_service(registry_spec)
    cases = [
        (publisher, "/public/results?q=%00", ["query", "q"]),
        (publisher, "/public/results.json?q=a%00", ["query", "q"]),
        (publisher, "/public/results.csv?q=%00", ["query", "q"]),
        (publisher, "/public/tasks?q=%00", ["query", "q"]),
        (publisher, "/public/tasks?draw=%00", ["query", "draw"]),
        (publisher, "/public/tasks?q=%1B%5B2J", ["query", "q"]),  # an escape sequence
        (publisher, "/public/tasks/%00.json", ["path", "task_id"]),
        (publisher, "/public/results?=x", ["query", ""]),  # a value with no name
        (registry, "/entities?name_prefix=%00", ["query", "name_prefix"]),
        (registry, "/entities?after=%00", ["query", "after"]),
        (registry, "/snapshots/%00", ["path", "snapshot_id"]),
        (registry, "/snapshots/%00/strata/x.txt", ["path", "snapshot_id"]),
        (registry, "/snapshots/S-1/strata/%C2%85.txt", ["path", "stratum_id"]),  # C1 NEL
    ]
    for svc, url, loc in cases:
        r = await svc.http.get(url, headers=svc.auth(Role.AUDITOR))
        _refused(r, loc)
    # Ordinary text still passes (and a newline is fine in a multi-line body, not in a query).
    r = await publisher.http.get("/public/results?q=景德镇")
    assert r.status_code == 200
    _refused(await publisher.http.get("/public/tasks?q=a%0Ab"), ["query", "q"])


async def test_the_batch_body_must_be_a_json_list(run_service) -> None:
    svc = await run_service(_publisher)
    staff = svc.auth(Role.PLANNER, "SCJG")
    r = await svc.http.post("/results/batch", headers=staff)  # no body
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid", r.text
    r = await svc.http.post(
        "/results/batch",
        content=b'[{"task_id": ',
        headers={**staff, "Content-Type": "application/json"},
    )
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"][0]["type"] == "json_invalid"
    r = await svc.http.post(
        "/results/batch", content=b"[]", headers={**staff, "Content-Type": "text/plain"}
    )
    assert r.status_code == 415 and r.json()["error"]["code"] == "unsupported_media_type"
    r = await svc.http.post("/results/batch", content=b"[]", headers=staff)  # no Content-Type
    assert r.status_code == 415, r.text
    r = await svc.http.post("/results/batch", json={"task_id": "T-1"}, headers=staff)
    assert r.status_code == 422, r.text
    r = await svc.http.post("/results/batch", json=[{}] * 1001, headers=staff)
    assert r.status_code == 422, r.text
    r = await svc.http.post("/results/batch", json=[{"task_id": f"T{NUL}"}], headers=staff)
    _refused(r, ["body", 0, "task_id"])
    r = await svc.http.post("/results/batch", json=[], headers=staff)
    assert r.status_code == 200 and r.json() == []


async def _a_draw(svc: Any) -> str:
    async with svc.ctx.db.transaction() as conn:
        await conn.execute("INSERT INTO plans (plan_id, body) VALUES ('P-1', '{}')")
        await conn.execute(
            "INSERT INTO draws (draw_id, plan_id, rules_version, state, created_by) "
            "VALUES ('D-1', 'P-1', 'v1', 'committed', 'test')"
        )
    return "D-1"


async def test_paging_numbers_and_row_ids_are_bounded(run_service) -> None:
    publisher = await run_service(_publisher)
    registry = await run_service(registry_spec)
    draw = await run_service(draw_spec)
    draw_id = await _a_draw(draw)
    ops = publisher.auth(Role.OPERATOR)
    cases = [
        (publisher, "GET", "/deliveries?limit=-1", ops, ["query", "limit"]),
        (publisher, "GET", f"/deliveries?limit={HUGE}", ops, ["query", "limit"]),
        (publisher, "POST", f"/deliveries/{HUGE}999/replay", ops, ["path", "delivery_id"]),
        (publisher, "POST", "/deliveries/-1/replay", ops, ["path", "delivery_id"]),
        (publisher, "GET", f"/tasks?offset={HUGE}", ops, ["query", "offset"]),
        (publisher, "GET", f"/audit/entries?after={HUGE}", None, ["query", "after"]),
        (publisher, "GET", "/audit/entries?after=-1", None, ["query", "after"]),
        (publisher, "GET", "/audit/entries?after=1e20", None, ["query", "after"]),
        (publisher, "GET", "/audit/entries?limit=-1", None, ["query", "limit"]),
        (publisher, "GET", f"/audit/entries?limit={HUGE}", None, ["query", "limit"]),
        (registry, "GET", f"/inspectors?offset={HUGE}", None, ["query", "offset"]),
        (registry, "GET", "/inspectors?limit=-1", None, ["query", "limit"]),
        (registry, "GET", f"/entities?limit={HUGE}", None, ["query", "limit"]),
        (draw, "GET", f"/draws/{draw_id}/tasks?offset={HUGE}", None, ["query", "offset"]),
        (draw, "GET", f"/draws/{draw_id}/tasks?limit=-5", None, ["query", "limit"]),
        # years too: a 26-digit one reached PostgreSQL's integer (the longer fuzz run)
        (publisher, "GET", f"/public/overview.json?year={HUGE}", None, ["query", "year"]),
        (publisher, "GET", "/public/notices/plans.json?year=-1", None, ["query", "year"]),
    ]
    for svc, method, url, headers, loc in cases:
        r = await svc.http.request(method, url, headers=headers or svc.auth(Role.AUDITOR))
        _refused(r, loc)
    # In range, they answer as before.
    r = await draw.http.get(f"/draws/{draw_id}/tasks?offset=0&limit=10")
    assert r.status_code == 200 and r.json() == []
    r = await publisher.http.get("/deliveries?limit=10000", headers=ops)
    assert r.status_code == 200
    r = await publisher.http.post("/deliveries/9223372036854775807/replay", headers=ops)
    assert r.status_code == 404


def _failing_spec(tmp_path: Any) -> ServiceSpec[None]:
    def routers(ctx: ServiceContext, _: None) -> list[APIRouter]:
        r = APIRouter()

        @r.get("/boom")
        @public
        async def boom() -> dict[str, str]:
            raise RuntimeError("a bug")

        @r.get("/fine")
        @public
        async def fine() -> dict[str, str]:
            return {"ok": "yes"}

        return [r]

    return ServiceSpec(name="draw", migrations=tmp_path, build=lambda ctx: None, routers=routers)


async def test_a_500_carries_the_id_of_its_own_request(run_service, tmp_path) -> None:
    svc = await run_service(lambda: _failing_spec(tmp_path))
    assert (await svc.http.get("/fine")).status_code == 200
    seen = set()
    for _ in range(3):
        r = await svc.http.get("/boom")
        assert r.status_code == 500 and r.json()["error"]["code"] == "internal"
        rid = r.json()["error"]["request_id"]
        assert rid and rid == r.headers["x-request-id"]
        seen.add(rid)
    assert len(seen) == 3  # each its own, never the one before
    r = await svc.http.get("/boom", headers={"X-Request-Id": "client-id-42"})
    assert r.json()["error"]["request_id"] == "client-id-42" == r.headers["x-request-id"]
    # An id that is no id (spaces, a header's worth of text) is replaced by one of ours.
    r = await svc.http.get("/boom", headers={"X-Request-Id": "a b" * 100})
    rid = r.json()["error"]["request_id"]
    assert rid == r.headers["x-request-id"] and " " not in rid
    # The 4xx answers carry it the same way.
    r = await svc.http.get("/nowhere")
    assert r.status_code == 404 and r.json()["error"]["request_id"] == r.headers["x-request-id"]


async def test_a_query_parameter_the_api_does_not_take_is_refused(run_service) -> None:
    registry = await run_service(registry_spec)
    r = await registry.http.get(
        "/entities?limt=5&region=360202", headers=registry.auth(Role.AUDITOR)
    )
    _refused(r, ["query", "limt"])
    assert [d["loc"] for d in r.json()["error"]["details"]] == [["query", "limt"]]
    assert r.json()["error"]["details"][0]["type"] == "unknown_parameter"
    # the parameters it takes, its guard's included, pass
    ok = await registry.http.get("/entities?limit=5", headers=registry.auth(Role.AUDITOR))
    assert ok.status_code == 200, ok.text
