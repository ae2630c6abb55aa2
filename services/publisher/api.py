"""HTTP API of the publisher service (thin: parse, authorise, call one command or query)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from contracts.common import Role
from contracts.publisher import (
    CompanyHistory,
    CompanyPage,
    DeadlineEntry,
    Delivery,
    DeliveryState,
    DraftConfirm,
    DraftReturn,
    PlanNoticePage,
    PlatformReceipt,
    PublicOverview,
    PublicTask,
    ResultAccepted,
    ResultCategoryList,
    ResultDraft,
    ResultNoticePage,
    ResultSubmission,
    SubmissionOutcome,
    TaskCard,
    TaskDetail,
    TaskNoticePage,
    TaskStarted,
)
from services.kit.auth import Principal, public, require
from services.kit.edge import Limit, RowId, Year
from services.kit.errors import Conflict, DomainError, Forbidden, Invalid, NotFound, TooLarge
from services.kit.service import ServiceContext
from services.publisher.commands.deliveries import Deliveries
from services.publisher.commands.drafts import Drafts
from services.publisher.commands.intake import Intake, Submitter
from services.publisher.commands.submissions import Submissions
from services.publisher.commands.tasks import TaskStarts
from services.publisher.domain import opendata, pages
from services.publisher.domain.task_list import Reader
from services.publisher.queries import PublisherQueries

MAX_BATCH = 1000

# Who may call what (FastAPI dependencies; each checks the bearer token's role).
ResultSubmitter = Annotated[Principal, require(Role.INSPECTOR, Role.PLANNER)]
ResultReader = Annotated[Principal, require(Role.AUDITOR, Role.INSPECTOR, Role.PLANNER)]
Operator = Annotated[Principal, require(Role.OPERATOR)]
OperationsReader = Annotated[Principal, require(Role.OPERATOR, Role.AUDITOR)]
TasksReader = Annotated[
    Principal, require(Role.INSPECTOR, Role.PLANNER, Role.AUDITOR, Role.OPERATOR)
]
TeamMember = Annotated[Principal, require(Role.INSPECTOR)]


def _text(media_type: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI answer of a route that returns `media_type` rather than JSON."""
    return {200: {"description": f"{media_type}, UTF-8", "content": {media_type: {}}}}


def submitter_of(p: Principal) -> Submitter:
    """Who acts: an inspector by id (a team member), else department staff by department."""
    if p.role is Role.INSPECTOR:
        return Submitter(actor=p.sub, inspector_id=p.sub, dept=None)
    return Submitter(actor=p.sub, inspector_id=None, dept=p.dept or "")


def _reader(p: Principal) -> Reader:
    return Reader(role=p.role, sub=p.sub, dept=p.dept)


def _member(p: Principal) -> Submitter:
    if p.role is not Role.INSPECTOR:  # the dependency let only inspectors through
        raise Forbidden("only a member of the team confirms, with their own sign-in")
    return submitter_of(p)


def _answer(
    outcome: SubmissionOutcome, response: Response, *, draft_status: int = 202
) -> ResultAccepted | ResultDraft:
    """A submission's (or confirmation's) outcome as HTTP: 201 a result accepted now,
    `draft_status` a draft awaiting confirmations (202 when just submitted), 200 either again
    (a repeat); an error raised."""
    if outcome.accepted is not None:
        response.status_code = 200 if outcome.repeated else 201
        return outcome.accepted
    if outcome.draft is not None:
        response.status_code = 200 if outcome.repeated else draft_status
        return outcome.draft
    err: dict[str, Any] = dict(outcome.error or {})
    cls: type[DomainError] = {
        403: Forbidden,
        404: NotFound,
        409: Conflict,
        413: TooLarge,
    }.get(int(err.get("status", 422)), Invalid)
    raise cls(
        str(err.get("message")), code=str(err.get("code")), details=list(err.get("details") or [])
    )


def router(
    ctx: ServiceContext,
    *,
    intake: Intake,
    submissions: Submissions,
    drafts: Drafts,
    starts: TaskStarts,
    deliveries: Deliveries,
    queries: PublisherQueries,
    public_base_url: str,
) -> APIRouter:
    """The publisher service's routes."""
    r = APIRouter(tags=["publisher"])

    @r.post(
        "/results",
        status_code=201,
        responses={
            202: {"model": ResultDraft, "description": "an inspector's draft, awaiting the team"}
        },
    )
    async def submit(
        body: ResultSubmission, p: ResultSubmitter, response: Response
    ) -> ResultAccepted | ResultDraft:
        """Submit one result (or a correction: a new version). Department staff: accepted at
        once (201). An inspector: a draft until every other team member confirmed it with
        their own sign-in (202). A repeated idempotency key answers the first outcome (200)."""
        return _answer(await submissions.submit(body, by=submitter_of(p)), response)

    @r.post("/results/batch")
    async def submit_batch(
        raw: Annotated[list[dict[str, Any]], Body(max_length=MAX_BATCH)],
        p: ResultSubmitter,
    ) -> list[SubmissionOutcome]:
        """Submit many results (a JSON list of at most 1000 `ResultSubmission` objects); each is
        accepted whole or refused with every reason (its line of the report, by `index`)."""
        parsed: list[tuple[int, ResultSubmission]] = []
        outcomes: dict[int, SubmissionOutcome] = {}
        for i, item in enumerate(raw):
            try:
                parsed.append((i, ResultSubmission.model_validate(item)))
            except ValidationError as exc:
                details = [
                    {"loc": list(e["loc"]), "msg": e["msg"], "type": e["type"]}
                    for e in exc.errors()
                ]
                task_id = item.get("task_id") if isinstance(item, dict) else None
                outcomes[i] = SubmissionOutcome(
                    index=i,
                    task_id=task_id if isinstance(task_id, str) else None,
                    error={
                        "code": "invalid",
                        "message": "malformed result",
                        "status": 422,
                        "details": details,
                    },
                )
        done = await submissions.submit_many([s for _, s in parsed], by=submitter_of(p))
        for (i, _), out in zip(parsed, done, strict=True):
            outcomes[i] = out.model_copy(update={"index": i})
        return [outcomes[i] for i in sorted(outcomes)]

    @r.get("/tasks")
    async def tasks(
        p: TasksReader,
        status: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        overdue: bool | None = None,
        inspector: str | None = None,
    ) -> list[TaskCard]:
        """掌上查: an inspector's tasks (a planner's: their department's; auditors, operators:
        all), overdue first, then by due date; `status`, `q` (part of the name or the start of
        the USCC), `overdue` (the period ended without a result), `inspector` (one member's),
        `limit` 1..500 (100), `offset`."""
        return await queries.tasks(
            _reader(p),
            status=status,
            q=q,
            limit=limit,
            offset=offset,
            overdue=overdue,
            inspector=inspector,
        )

    @r.get("/tasks/{task_id}")
    async def task(task_id: str, p: TasksReader) -> TaskDetail:
        """One task: its card, every result version, and the draft awaiting confirmation in
        full (what the member confirming reads). 403 for an inspector not on its team."""
        return await queries.task(_reader(p), task_id)

    @r.post(
        "/tasks/{task_id}/draft/confirm",
        responses={
            201: {"model": ResultAccepted, "description": "the last confirmation: the result"}
        },
    )
    async def confirm_draft(
        task_id: str, body: DraftConfirm, p: TeamMember, response: Response
    ) -> ResultAccepted | ResultDraft:
        """A team member confirms the draft they read, with their own sign-in: 200 the draft
        (others still awaited), 201 the result once everyone has; 409 when `content_sha256` or
        `draft_id` is not the draft's awaiting confirmation."""
        outcome = await drafts.confirm(task_id, body, by=_member(p))
        return _answer(outcome, response, draft_status=200)

    @r.post("/tasks/{task_id}/draft/return")
    async def return_draft(task_id: str, body: DraftReturn, p: TeamMember) -> ResultDraft:
        """A team member sends the draft back with a reason; the task may be submitted again."""
        return await drafts.give_back(task_id, body, by=_member(p))

    @r.post("/tasks/{task_id}/start")
    async def start_task(task_id: str, p: ResultSubmitter) -> TaskStarted:
        """Mark the task's visit begun (开始检查): no later visit is merged into it any more."""
        return await starts.start(task_id, by=submitter_of(p))

    @r.post("/attachments", status_code=201)
    async def upload(request: Request, _: ResultSubmitter) -> dict[str, Any]:
        """Store evidence (raw body) in the object store; answers its SHA-256 and size."""
        limit = intake.max_attachment_bytes
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise TooLarge(f"attachment exceeds {limit} bytes", code="attachment_too_large")
            chunks.append(chunk)
        digest, n = await intake.put_attachment(b"".join(chunks))
        return {"sha256": digest, "size": n}

    @r.get("/results/{result_id}")
    async def versions(result_id: str, _: ResultReader) -> list[dict[str, Any]]:
        """Every version of a result, oldest first."""
        rows = await queries.versions(result_id)
        if not rows:
            raise NotFound(f"no result {result_id}")
        return rows

    @r.get("/deliveries")
    async def list_deliveries(
        _: OperationsReader, state: DeliveryState | None = None, limit: Limit = 100
    ) -> list[Delivery]:
        """Outbox rows; `?state=dead` lists the dead letters."""
        return await queries.deliveries(state=state, limit=min(limit, 10_000))

    @r.post("/deliveries/{delivery_id}/replay")
    async def replay(delivery_id: RowId, p: Operator) -> Delivery:
        """Put a dead letter back in the queue under the same idempotency key."""
        return await deliveries.replay(delivery_id, actor=p.sub)

    @r.get("/platforms/receipts")
    async def platform_receipts(
        _: OperationsReader,
        state: Literal["applied", "refused"] | None = None,
        limit: Limit = 100,
    ) -> list[PlatformReceipt]:
        """The 监督平台's receipts of plans as read, newest first; `?state=refused`: those the
        planner refused, with why (their files are in the receipts folder's `refused/`)."""
        return await queries.receipts(state=state, limit=min(limit, 10_000))

    @r.get("/deadlines")
    async def deadlines(_: OperationsReader) -> list[DeadlineEntry]:
        """Results not yet public that are at risk or overdue."""
        return await queries.at_risk_and_overdue()

    # ---- public pages (公示) and open data: no token ----------------------------------------

    @r.get("/public/items", response_class=HTMLResponse)
    @public
    async def public_items() -> HTMLResponse:
        return HTMLResponse(pages.render_items(await queries.item_notices()))

    @r.get("/public/plans", response_class=HTMLResponse)
    @public
    async def public_plans() -> HTMLResponse:
        return HTMLResponse(pages.render_plans(await queries.plan_notices()))

    @r.get("/public/tasks", response_class=HTMLResponse)
    @public
    async def public_tasks(q: str | None = None, draw: str | None = None) -> HTMLResponse:
        rows, draws = await queries.task_notices(query=q, draw_id=draw)
        return HTMLResponse(pages.render_tasks(rows, query=q, draws=draws))

    @r.get("/public/tasks/{task_id}.json")
    @public
    async def public_task(task_id: str) -> PublicTask:
        """检查码: the task's public facts (entity, items, team ids, period, status)."""
        return await queries.public_task(task_id)

    @r.get("/public/result-categories.json")
    @public
    async def result_categories() -> ResultCategoryList:
        """The national result categories (检查结果类别) results are recorded in."""
        return queries.result_categories()

    @r.get("/public/draws.json")
    @public
    async def public_draws_json() -> Response:
        draws = await queries.draw_notices()
        return Response(opendata.draws_json(draws), media_type="application/json")

    @r.get("/public/results", response_class=HTMLResponse)
    @public
    async def public_results(q: str | None = None) -> HTMLResponse:
        rows = await queries.result_notices(query=q)
        return HTMLResponse(pages.render_results(rows, query=q))

    @r.get("/public/results.json")
    @public
    async def public_results_json(q: str | None = None) -> Response:
        rows = await queries.result_notices(query=q, limit=10_000)
        return Response(opendata.results_json(rows), media_type="application/json")

    @r.get("/public/results.csv", response_class=Response, responses=_text("text/csv"))
    @public
    async def public_results_csv(q: str | None = None) -> Response:
        rows = await queries.result_notices(query=q, limit=100_000)
        return Response(
            opendata.results_csv(rows).encode("utf-8"),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="results.csv"'},
        )

    @r.get("/public/feed.atom", response_class=Response, responses=_text("application/atom+xml"))
    @public
    async def public_feed() -> Response:
        rows = await queries.result_notices(query=None, limit=200)
        return Response(
            opendata.results_atom(rows, base_url=public_base_url),
            media_type="application/atom+xml; charset=utf-8",
        )

    # ---- the public site's reads (一公开): paged and filtered, no token ----------------------

    @r.get("/public/overview.json")
    @public
    async def public_overview(year: Year | None = None) -> PublicOverview:
        """A year's plans, draws, tasks and published results (this year's by default), and
        the years, departments, regions, items and result categories the filters offer."""
        return await queries.overview(year)

    @r.get("/public/notices/plans.json")
    @public
    async def plan_notice_page(
        year: Year | None = None,
        department: str | None = None,
        item: str | None = None,
        plan: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> PlanNoticePage:
        """计划公告: approved plans, newest first, with their items and draws (`plan`: one)."""
        f = queries.public_filter(
            year=year, department=department, item=item, plan=plan, offset=offset, limit=limit
        )
        return await queries.plan_page(f)

    @r.get("/public/notices/tasks.json")
    @public
    async def task_notice_page(
        year: Year | None = None,
        department: str | None = None,
        item: str | None = None,
        region: str | None = None,
        draw: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> TaskNoticePage:
        """任务公告: tasks, newest period first; `year` (of the period's start), `department`,
        `item`, `region` (a code ending in 00 takes in the regions under it), `draw`, `q`
        (part of the name or the start of the USCC); `offset`, `limit` ≤ 100; `total`."""
        f = queries.public_filter(
            year=year,
            department=department,
            item=item,
            region=region,
            draw=draw,
            q=q,
            offset=offset,
            limit=limit,
        )
        return await queries.task_page(f)

    @r.get("/public/notices/results.json")
    @public
    async def result_notice_page(
        year: Year | None = None,
        department: str | None = None,
        item: str | None = None,
        region: str | None = None,
        category: str | None = None,
        q: str | None = None,
        offset: int = 0,
        limit: int = 20,
    ) -> ResultNoticePage:
        """结果公告: the latest published version of each result (earlier ones as `history`),
        newest first; filters as the tasks', plus `category` (with its sub-categories) and
        `year` of the check date."""
        f = queries.public_filter(
            year=year,
            department=department,
            item=item,
            region=region,
            category=category,
            q=q,
            offset=offset,
            limit=limit,
        )
        return await queries.result_page(f)

    @r.get("/public/companies.json")
    @public
    async def company_search(q: str | None = None, offset: int = 0, limit: int = 20) -> CompanyPage:
        """Entities with public records whose name contains `q` or whose USCC starts with it,
        most recently drawn first."""
        return await queries.company_page(queries.public_filter(q=q, offset=offset, limit=limit))

    @r.get("/public/companies/{uscc}.json")
    @public
    async def company(uscc: str) -> CompanyHistory:
        """An entity's inspection history: its tasks and its published results with their
        corrections and follow-up (empty lists for an entity never drawn)."""
        return await queries.company_history(uscc)

    return r
