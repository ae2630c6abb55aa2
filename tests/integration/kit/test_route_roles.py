"""Every non-public route of every service × every role: who is refused and who is let through.

The routes are walked from the running apps (`api_routes`, which sees into nested routers), so a
new route fails `test_every_route_answers_each_role_as_the_table_says` until `ACCESS` says who may
call it; the roles its guard declares (`require(...)`'s, or the web session's,
`__spotcheck_roles__`) must be the table's, so a role added to a guard by mistake fails too.
Then each route is called with no credentials, with a token (or, for the web's pages, a
session) of every role — planners and inspectors with their department — and with a planner's
and an inspector's token that names no department:

- a role the table allows is let through: any answer but 401 or 403 and no server error
  (with no data and dummy ids, 404 and 422 are what most of them answer);
- any other role gets 403 `forbidden`; no token 401 (a page: the way to sign in);
- a planner's or inspector's token without a department gets 403 `department_missing`.

Where the department decides (`DEPARTMENT_CASES`), the answer is checked on seeded data with a
token of the right department and of another.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from contracts.common import DEPARTMENT_ROLES, Role
from services.draw.app import spec as draw_spec
from services.kit.auth import is_public
from services.kit.http import api_routes
from services.kit.service import ServiceSpec
from services.planner.app import spec as planner_spec
from services.publisher.app import spec as publisher_spec
from services.publisher.settings import PublisherSettings
from services.registry.app import spec as registry_spec
from services.web.app import spec as web_spec
from spotcheck.embedded import free_port
from tests.integration.planner.support import ROOT, StatsDouble, serving_stats
from tests.integration.publisher.conftest import bearer, publish_tasks, task_assigned

P, PL, D, IN, A, RO, OP, AG = (
    Role.POLICY,
    Role.PLANNER,
    Role.DRAW_OFFICER,
    Role.INSPECTOR,
    Role.AUDITOR,
    Role.REGISTRY_OWNER,
    Role.OPERATOR,
    Role.AGENCY,
)
ANY = frozenset(Role)  # any valid token (`require()`), or any signed-in person (a web page)
STATS = frozenset({A, PL, P, D, OP})  # the statistics: contracts.common.STATS_ROLES

# Who may call each route: the spec the guards are checked against. Every service also has
# the kit's audit routes.
KIT: dict[str, frozenset[Role]] = {
    "GET /audit/entries": frozenset({A}),
    "GET /audit/verify": frozenset({A}),
}
ACCESS: dict[str, dict[str, frozenset[Role]]] = {
    "registry": {
        "GET /entities/{uscc}": ANY,
        "GET /entities": ANY,
        "GET /inspectors/{inspector_id}": ANY,
        "GET /inspectors": ANY,
        "POST /imports": frozenset({RO}),
        "POST /imports/{import_id}/chunks/{chunk}": frozenset({RO}),
        "POST /imports/{import_id}/commit": frozenset({RO}),
        "GET /stats/entities": STATS,
    },
    "planner": {
        "POST /rules/check": frozenset({P}),
        "POST /rules/activate": frozenset({P}),
        "GET /rules/active": frozenset({P, PL, A}),
        "GET /rules/history": frozenset({P, A}),
        "POST /rules/simulate": frozenset({P, PL}),
        "POST /plans": frozenset({PL, P}),
        "GET /plans/{plan_id}": frozenset({PL, P, A, D}),
        "GET /plans": frozenset({PL, P, A, D}),
        "GET /rules/versions/{version}": frozenset({P, A}),
        "POST /rules/candidates": frozenset({P}),
        "GET /rules/candidates": frozenset({P}),
        "GET /rules/candidates/{candidate_id}": frozenset({P}),
        "GET /stats/plans": STATS,
        "POST /plans/joint": frozenset({PL}),
        "GET /plans/joint": frozenset({PL, P}),
        "GET /plans/joint/{plan_id}": frozenset({PL, P}),
        "POST /plans/joint/{plan_id}/join": frozenset({PL}),
        "POST /plans/joint/{plan_id}/submit": frozenset({PL}),
        "POST /rules/catalogue-imports": frozenset({P}),
        "GET /rules/catalogue-imports": frozenset({P}),
        "GET /rules/catalogue-imports/{import_id}": frozenset({P}),
        "POST /plans/{plan_id}/filing": frozenset({OP}),
    },
    "draw": {
        "POST /draws": frozenset({D}),
        "POST /draws/{draw_id}/seed": frozenset({D}),
        "POST /draws/{draw_id}/resume": frozenset({D}),
        "POST /draws/{draw_id}/parties": frozenset({D, A, PL}),
        "POST /draws/{draw_id}/parties/{party_id}/reveal": frozenset({D, A, PL}),
        "POST /draws/{draw_id}/redraw": frozenset({D}),
        "POST /draws/{draw_id}/redraw/confirm": frozenset({D}),
        "POST /draws/{draw_id}/redraw/cancel": frozenset({D}),
        "POST /tasks/{task_id}/restaff": frozenset({D}),
        "POST /draws/{draw_id}/restaff-recused": frozenset({D}),
        "POST /triggered": frozenset({D}),
        "POST /triggered/{task_id}/approve": frozenset({D}),
        "GET /stats/draws": STATS,
    },
    "publisher": {
        "POST /results": frozenset({IN, PL}),
        "POST /results/batch": frozenset({IN, PL}),
        "GET /tasks": frozenset({IN, PL, A, OP}),
        "GET /tasks/{task_id}": frozenset({IN, PL, A, OP}),
        "POST /tasks/{task_id}/draft/confirm": frozenset({IN}),
        "POST /tasks/{task_id}/draft/return": frozenset({IN}),
        "POST /tasks/{task_id}/start": frozenset({IN, PL}),
        "POST /tasks/{task_id}/commissions": frozenset({IN, PL}),
        "POST /tasks/{task_id}/cancel": frozenset({PL}),
        "POST /commissions/{commission_id}/report": frozenset({IN, PL}),
        "POST /attachments": frozenset({IN, PL}),
        "GET /results/{result_id}": frozenset({A, IN, PL}),
        "GET /deliveries": frozenset({OP, A}),
        "POST /deliveries/{delivery_id}/replay": frozenset({OP}),
        "GET /deadlines": frozenset({OP, A}),
        "GET /platforms/receipts": frozenset({OP, A}),
        "GET /stats/tasks": STATS,
        # follow-up after a finding: the receiving body of a referral records what it did
        "POST /referrals/{referral_id}/acknowledgement": frozenset({AG}),
        "POST /referrals/{referral_id}/outcome": frozenset({AG}),
        "POST /results/{result_id}/rectification": frozenset({IN, PL}),
        "GET /rectifications": frozenset({PL, A, OP}),
    },
    "web": {
        "GET /admin/users": frozenset({OP}),
        "POST /admin/users": frozenset({OP}),
        "POST /admin/users/{username}/disable": frozenset({OP}),
        "POST /admin/users/{username}/enable": frozenset({OP}),
        "POST /admin/users/{username}/reset-password": frozenset({OP}),
        # pages, by session
        "POST /logout": ANY,
        "GET /password": ANY,
        "POST /password": ANY,
        "GET /m/": frozenset({IN, PL, A}),
        "GET /m/tasks/{task_id}": frozenset({IN, PL, A}),
        "POST /m/tasks/{task_id}/start": frozenset({IN}),
        "GET /m/tasks/{task_id}/result": frozenset({IN}),
        "POST /m/tasks/{task_id}/result": frozenset({IN}),
        "POST /m/tasks/{task_id}/confirm": frozenset({IN}),
        "POST /m/tasks/{task_id}/return": frozenset({IN}),
        "GET /m/tasks/{task_id}/code": frozenset({IN, PL, A}),
        # the officers' console: inspectors have 掌上查 instead
        "GET /console/": frozenset({PL, P, D, A, OP}),
        "GET /console/draws": frozenset({D, A}),
        "POST /console/draws": frozenset({D}),
        "GET /console/draws/{draw_id}": frozenset({D, A}),
        "POST /console/draws/{draw_id}/seed": frozenset({D}),
        "POST /console/draws/{draw_id}/parties": frozenset({D, A}),
        "POST /console/draws/{draw_id}/parties/reveal": frozenset({D, A}),
        "POST /console/draws/{draw_id}/redraw": frozenset({D}),
        "POST /console/draws/{draw_id}/redraw/confirm": frozenset({D}),
        "POST /console/draws/{draw_id}/redraw/cancel": frozenset({D}),
        "GET /console/draws/{draw_id}/tasks/{task_id}/restaff": frozenset({D}),
        "POST /console/draws/{draw_id}/tasks/{task_id}/restaff": frozenset({D}),
        "GET /console/draws/{draw_id}/present": frozenset({D, A}),
        "GET /console/draws/{draw_id}/present/live": frozenset({D, A}),
        "GET /console/draws/{draw_id}/{what}.{ext}": frozenset({D, A}),
        "GET /console/plans": frozenset({PL, P, A}),
        "GET /console/plans/new": frozenset({PL, P}),
        "POST /console/plans/new": frozenset({PL, P}),
        "POST /console/plans/upload": frozenset({PL, P}),
        "GET /console/plans/{plan_id}": frozenset({PL, P, A}),
        "GET /console/plans/joint/new": frozenset({PL}),
        "POST /console/plans/joint/new": frozenset({PL}),
        "GET /console/plans/joint/{plan_id}": frozenset({PL, P}),
        "POST /console/plans/joint/{plan_id}/join": frozenset({PL}),
        "POST /console/plans/joint/{plan_id}/submit": frozenset({PL}),
        "GET /console/rules": frozenset({P}),
        "POST /console/rules/candidates": frozenset({P}),
        "GET /console/rules/edit": frozenset({P}),
        "POST /console/rules/edit": frozenset({P}),
        "GET /console/rules/candidates/{candidate_id}": frozenset({P}),
        "GET /console/rules/candidates/{candidate_id}/files/{path:path}": frozenset({P}),
        "POST /console/rules/candidates/{candidate_id}/activate": frozenset({P}),
        "GET /console/rules/catalogue": frozenset({P}),
        "POST /console/rules/catalogue": frozenset({P}),
        "GET /console/rules/catalogue/{import_id}": frozenset({P}),
        "GET /console/audit": frozenset({A}),
        "GET /console/stats": STATS,
        "GET /console/stats.csv": STATS,
    },
}
SPECS: dict[str, Callable[[], ServiceSpec[Any]]] = {
    "registry": registry_spec,
    "planner": planner_spec,
    "draw": draw_spec,
    "publisher": publisher_spec,
    "web": web_spec,
}
DEPT = "SCJG"


@pytest.fixture
async def stats_double(nats_url: str) -> AsyncIterator[StatsDouble]:
    """The registry's `rpc.stats` answered on the test's NATS (a sound plan needs its n)."""
    async with serving_stats(nats_url) as double:
        yield double


def _guard(dependant: Any) -> tuple[str, tuple[Role, ...]] | None:
    """(module, roles) of the route's guard: `require(...)` of services.kit.auth, or the web's
    session dependency; None for an unguarded route."""
    for dep in dependant.dependencies:
        roles = getattr(dep.call, "__spotcheck_roles__", None)
        if roles is not None:
            return dep.call.__module__, tuple(roles)
        inner = _guard(dep)
        if inner is not None:
            return inner
    return None


def _code(r: Any) -> str | None:
    """The error code of an answer in the one JSON error shape, else None."""
    if r.status_code < 400 or "json" not in r.headers.get("content-type", ""):
        return None
    body = r.json()
    return body.get("error", {}).get("code") if isinstance(body, dict) else None


def _path(template: str) -> str:
    """A concrete path: every parameter a dummy id (digits, so int parameters parse too)."""
    return re.sub(r"\{[^}]+\}", "1", template)


class Caller:
    """Calls one route as each kind of caller and says what was wrong with the answers."""

    def __init__(self, svc: Any, sessions: dict[Role, tuple[str, str]] | None) -> None:
        self.svc = svc
        self.sessions = sessions or {}
        self.wrong: list[str] = []

    async def _bearer(self, method: str, path: str, headers: dict[str, str]) -> Any:
        kwargs: dict[str, Any] = {"json": {}} if method == "POST" else {}
        headers = {**headers, "Accept": "application/json"}  # the web answers pages otherwise
        return await self.svc.http.request(method, path, headers=headers, **kwargs)

    async def _page(self, method: str, path: str, role: Role | None) -> Any:
        headers, data = {}, None
        if role is not None:
            token, csrf = self.sessions[role]
            headers = {"Cookie": f"spotcheck_session={token}"}
            data = {"csrf_token": csrf} if method == "POST" else None
        self.svc.http.cookies.clear()
        return await self.svc.http.request(method, path, data=data, headers=headers)

    def _expect(self, key: str, who: str, r: Any, status: int, code: str | None) -> None:
        got = _code(r) if code else None
        if r.status_code != status or (code and got != code):
            self.wrong.append(f"{key} as {who}: {r.status_code} {got}, expected {status} {code}")

    def _let_through(self, key: str, who: str, r: Any) -> None:
        # 503: a web page that got past its guard and found the services away (see below).
        if r.status_code in (401, 403) or (r.status_code >= 500 and r.status_code != 503):
            self.wrong.append(f"{key} as {who}: {r.status_code}, expected to be let through")
        if r.status_code == 303 and r.headers["location"].startswith("/login?next="):
            self.wrong.append(f"{key} as {who}: sent to sign in, expected to be let through")

    async def bearer_route(self, key: str, allowed: frozenset[Role]) -> None:
        method, template = key.split(" ", 1)
        path = _path(template)
        self._expect(key, "nobody", await self._bearer(method, path, {}), 401, "unauthorized")
        for role in Role:
            dept = DEPT if role in DEPARTMENT_ROLES else None
            r = await self._bearer(method, path, self.svc.auth(role, dept))
            if role in allowed:
                self._let_through(key, role.value, r)
            else:
                self._expect(key, role.value, r, 403, "forbidden")
        for role in DEPARTMENT_ROLES:
            nodept = self.svc.signed(sub=f"no-dept-{role.value}", role=role.value)
            r = await self._bearer(method, path, nodept)
            self._expect(key, f"{role.value} without dept", r, 403, "department_missing")

    async def page_route(self, key: str, allowed: frozenset[Role]) -> None:
        method, template = key.split(" ", 1)
        path = _path(template)
        r = await self._page(method, path, None)
        if r.status_code != 303 or not r.headers["location"].startswith("/login?next="):
            self.wrong.append(f"{key} with no session: {r.status_code}, expected the sign-in")
        for role in Role:
            r = await self._page(method, path, role)
            if role in allowed:
                self._let_through(key, role.value, r)
            else:
                self._expect(key, role.value, r, 403, None)


async def _sessions(web: Any) -> dict[Role, tuple[str, str]]:
    """A signed-in person of every role: (session cookie, CSRF token)."""
    out: dict[Role, tuple[str, str]] = {}
    accounts = web.wiring.accounts
    for role in Role:
        username = f"t-{role.value}".replace("_", "-")
        async with web.ctx.db.transaction() as conn:
            await accounts.store.insert_account(
                conn,
                username=username,
                display_name=f"测试{role.value}",
                role=role,
                department=DEPT if role in DEPARTMENT_ROLES else None,
                inspector_id="I-1" if role is Role.INSPECTOR else None,
                password_hash=None,
                must_change_password=False,
            )
        account = await accounts.store.account(username)
        started = await accounts.start_session(account, now=datetime.now(UTC), client="test")
        out[role] = (started.token, started.csrf_token)
    return out


@pytest.mark.parametrize("service", list(SPECS))
async def test_every_route_answers_each_role_as_the_table_says(
    run_service: Any, monkeypatch: Any, service: str
) -> None:
    if service == "web":  # its pages call the services: they answer 503 at once, from here
        closed = f"http://127.0.0.1:{free_port()}"
        for name in ("registry", "planner", "draw", "publisher"):
            monkeypatch.setenv(f"SPOTCHECK_WEB_{name.upper()}_URL", closed)
    overrides: dict[str, Any] = {"rules_dir": ROOT / "rules"} if service == "planner" else {}
    svc = await run_service(SPECS[service], **overrides)
    routes = {
        f"{method} {route.path}": route
        for route in api_routes(svc.ctx.app.routes)
        if not is_public(route.endpoint)
        for method in route.methods
    }
    table = {**KIT, **ACCESS[service]}
    assert sorted(routes.keys() - table.keys()) == [], "new routes: say in ACCESS who may call them"
    assert sorted(table.keys() - routes.keys()) == [], "ACCESS names routes that are gone"

    caller = Caller(svc, await _sessions(svc) if service == "web" else None)
    # Signing out ends the sessions the other pages are called with: last.
    for key, route in sorted(routes.items(), key=lambda kv: (kv[0] == "POST /logout", kv[0])):
        guard = _guard(route.dependant)
        assert guard is not None, f"{key} is neither public nor guarded"
        module, declared = guard
        if (frozenset(declared) or ANY) != table[key]:
            lets_in = sorted(r.value for r in declared) or "any role"
            says = sorted(r.value for r in table[key])
            caller.wrong.append(f"{key}: its guard lets in {lets_in}, ACCESS says {says}")
        if module == "services.kit.auth":
            await caller.bearer_route(key, table[key])
        else:
            await caller.page_route(key, table[key])
    assert caller.wrong == [], "\n".join(caller.wrong)


# ---- where the department decides ---------------------------------------------------------


def _plan(plan_id: str, departments: list[str], items: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "plan_id": plan_id,
        "title": "2026年度抽查计划",
        "year": 2026,
        "departments": departments,
        "lead_department": departments[0],
        "scope": {"regions": ["360202"]},
        "period": {"start": "2026-04-01", "end": "2026-11-30"},
        "items": items,
        "filed_on": "2026-02-20",
        "entered_on": "2026-03-15",
    }


ITEM = [{"item": "SCJG-001", "ratio": "3%"}]
# (who, method, path, body, status, error code): SCJG's approved plan P-SCJG and rejected plan
# P-BAD, a joint approved plan P-JOINT of SCJG and SW.
PLANNER_CASES: list[tuple[tuple[Role, str | None], str, str, Any, int, str | None]] = [
    ((PL, "SW"), "POST", "/plans", _plan("P-X", ["SCJG"], ITEM), 403, "forbidden"),
    ((PL, "SW"), "GET", "/plans/P-X", None, 404, "not_found"),  # …and nothing was stored
    ((PL, "SCJG"), "GET", "/plans/P-SCJG", None, 200, None),
    ((PL, "SW"), "GET", "/plans/P-SCJG", None, 200, None),  # approved: public (计划公告)
    ((PL, "STHJ"), "GET", "/plans/P-JOINT", None, 200, None),
    ((PL, "SCJG"), "GET", "/plans/P-BAD", None, 200, None),  # its own department's
    ((PL, "SW"), "GET", "/plans/P-BAD", None, 403, "plan_not_public"),
    ((D, None), "GET", "/plans/P-BAD", None, 403, "plan_not_public"),
    ((P, None), "GET", "/plans/P-BAD", None, 200, None),
    ((A, None), "GET", "/plans/P-BAD", None, 200, None),
]


async def test_planners_act_and_read_by_department(
    run_service: Any, stats_double: StatsDouble
) -> None:
    svc = await run_service(planner_spec, rules_dir=ROOT / "rules")
    scjg = svc.auth(PL, "SCJG")
    joint = [{"item": "SCJG-001", "ratio": "3%"}, {"item": "SW-001", "ratio": "2%"}]
    for plan, status in (
        (_plan("P-SCJG", ["SCJG"], ITEM), 201),
        (_plan("P-JOINT", ["SCJG", "SW"], joint), 201),
        (_plan("P-BAD", ["SCJG"], [{"item": "NOPE", "ratio": "3%"}]), 422),
    ):
        r = await svc.http.post("/plans", json=plan, headers=scjg)
        assert r.status_code == status, r.text
    wrong = []
    for (role, dept), method, path, body, status, code in PLANNER_CASES:
        kwargs = {"json": body} if body is not None else {}
        r = await svc.http.request(method, path, headers=svc.auth(role, dept), **kwargs)
        got = _code(r)
        if (r.status_code, got) != (status, code):
            wrong.append(f"{method} {path} as {role.value} {dept}: {r.status_code} {got}")
    assert wrong == [], "\n".join(wrong)


# (role, sub, dept), method, path, status, error code — on task T-1 of department scjg, whose
# team is I-1 and I-2.
PUBLISHER_CASES: list[tuple[tuple[Role, str, str | None], str, str, int, str | None]] = [
    ((PL, "p", "scjg"), "GET", "/tasks/T-1", 200, None),
    ((PL, "p", "sw"), "GET", "/tasks/T-1", 403, "not_of_department"),
    ((IN, "I-1", "scjg"), "GET", "/tasks/T-1", 200, None),
    ((IN, "I-9", "scjg"), "GET", "/tasks/T-1", 403, "not_on_team"),
    ((A, "a", None), "GET", "/tasks/T-1", 200, None),
    ((PL, "p", "sw"), "POST", "/tasks/T-1/start", 422, "start_refused"),
    ((IN, "I-9", "scjg"), "POST", "/tasks/T-1/start", 422, "start_refused"),
    ((PL, "p", "scjg"), "POST", "/tasks/T-1/start", 200, None),
]


async def test_department_staff_and_inspectors_reach_only_their_tasks(run_service: Any) -> None:
    svc = await run_service(lambda: publisher_spec(PublisherSettings(relay_enabled=False)))
    await publish_tasks(svc, [task_assigned("T-1")])
    wrong = []
    for (role, sub, dept), method, path, status, code in PUBLISHER_CASES:
        r = await svc.http.request(method, path, headers=bearer(svc, role, sub, dept))
        got = _code(r)
        if (r.status_code, got) != (status, code):
            wrong.append(f"{method} {path} as {role.value} {sub} {dept}: {r.status_code} {got}")
    assert wrong == [], "\n".join(wrong)
    # A planner's list holds the tasks of their department only.
    for dept, ids in (("scjg", ["T-1"]), ("sw", [])):
        r = await svc.http.get("/tasks", headers=bearer(svc, PL, "p", dept))
        assert [t["task_id"] for t in r.json()] == ids
