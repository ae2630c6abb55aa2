"""The publisher's reads: the inspector's tasks (掌上查), result versions, deliveries and dead
letters, deadlines, and the public notices and open data. Plain SQL through the store; no domain
model but the deadline count and who may see which task."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from contracts.publisher import (
    CompanyHistory,
    CompanyPage,
    DeadlineEntry,
    Delivery,
    DeliveryState,
    FollowUpState,
    NoticeOption,
    PlanNoticePage,
    PlatformReceipt,
    PublicOverview,
    PublicTask,
    PublicTaskItem,
    RectificationEntry,
    ResultCategoryInfo,
    ResultCategoryList,
    ResultNoticePage,
    ResultVersion,
    TaskCard,
    TaskDetail,
    TaskNoticePage,
    TaskStats,
)
from services.kit.db import Database
from services.kit.errors import Invalid, NotFound
from services.publisher import store
from services.publisher.domain.categories import CategoryTable
from services.publisher.domain.deadlines import DeadlineState, deadline
from services.publisher.domain.follow_up import rectification_overdue
from services.publisher.domain.notices import (
    DrawNotice,
    ItemNotice,
    PlanNotice,
    ResultNotice,
    TaskNotice,
)
from services.publisher.domain.public_filters import (
    USCC_LENGTH,
    FilterRefused,
    NoticeFilter,
    notice_filter,
)
from services.publisher.domain.task_list import Reader, check_may_read, check_query, scope_of
from services.publisher.store import receipts as receipts_store
from services.publisher.workdays import WorkdaysCache


class PublisherQueries:
    """Reads for operators, auditors and the public pages."""

    def __init__(self, *, db: Database, workdays: WorkdaysCache, categories: CategoryTable) -> None:
        self.db = db
        self.workdays = workdays
        self.categories = categories
        self.counts: dict[str, int] = {}  # the last deadline report's counts, for the metrics

    def result_categories(self) -> ResultCategoryList:
        """The national result categories, in the table's order (the phone's result form)."""
        return ResultCategoryList(
            version=self.categories.version,
            categories=[
                ResultCategoryInfo(code=c.code, name=c.name, parent=c.parent, violation=c.violation)
                for c in self.categories.all()
            ],
        )

    # ---- 掌上查: the tasks of an inspector (of a department, or all) ---------------------------

    async def tasks(
        self,
        reader: Reader,
        *,
        status: str | None = None,
        q: str | None = None,
        limit: int | None = None,
        offset: int | None = None,
        overdue: bool | None = None,
        inspector: str | None = None,
        today: date | None = None,
    ) -> list[TaskCard]:
        """The tasks this reader may see, filtered: overdue first, then by due date."""
        query = check_query(
            status=status, q=q, limit=limit, offset=offset, overdue=overdue, inspector=inspector
        )
        scope = scope_of(reader)
        async with self.db.pool.acquire() as conn:
            return await store.task_cards(
                conn, scope=scope, query=query, today=today or datetime.now(UTC).date()
            )

    async def task(self, reader: Reader, task_id: str, *, today: date | None = None) -> TaskDetail:
        """One task with its result versions and its draft awaiting confirmation in full (403
        for a reader who may not see it)."""
        async with self.db.pool.acquire() as conn:
            card = await store.task_card(conn, task_id, today=today or datetime.now(UTC).date())
            if card is None:
                raise NotFound(f"no task {task_id}", code="task_unknown")
            check_may_read(reader, task_id=task_id, team=card.team, departments=card.departments)
            results = await store.task_results(conn, task_id)
            commissions = await store.task_commissions(conn, task_id)
            draft = card.pending_draft
            if draft is not None:
                full = await store.get_draft(conn, draft.draft_id)
                draft = None if full is None else full.view(card.team, full=True)
            follow = None
            if results:
                follow = await self._follow_up(
                    conn, task_id, results[-1], today=today or datetime.now(UTC).date()
                )
        return TaskDetail(
            **{**card.model_dump(exclude={"pending_draft"}), "pending_draft": draft},
            results=results,
            commissions=commissions,
            follow_up=follow,
        )

    async def _follow_up(
        self, conn: store.Conn, task_id: str, latest: ResultVersion, *, today: date
    ) -> FollowUpState:
        """What the latest result led to: its order's re-check, every version's referral."""
        check = await store.get_rectification_check(conn, latest.result_id)
        rectify_by = None if latest.follow_up is None else latest.follow_up.rectify_by
        return FollowUpState(
            result_id=latest.result_id,
            version=latest.version,
            rectify_by=rectify_by,
            rectification="" if latest.follow_up is None else latest.follow_up.rectification,
            rectification_overdue=rectification_overdue(
                rectify_by, checked=check is not None, today=today
            ),
            rectification_check=check,
            referrals=await store.task_referrals(conn, task_id),
        )

    async def rectifications(
        self,
        reader: Reader,
        *,
        overdue: bool,
        limit: int | None,
        offset: int | None,
        today: date | None = None,
    ) -> list[RectificationEntry]:
        """Orders to correct by deadline, with their re-checks (`overdue`: deadline passed,
        none recorded); a planner sees their department's."""
        scope = scope_of(reader)
        page = check_query(status=None, q=None, limit=limit, offset=offset)
        async with self.db.pool.acquire() as conn:
            return await store.rectifications(
                conn,
                today=today or datetime.now(UTC).date(),
                overdue_only=overdue,
                department=scope.department,
                limit=page.limit,
                offset=page.offset,
            )

    async def public_task(self, task_id: str, *, today: date | None = None) -> PublicTask:
        """What the task's check code (检查码) shows anyone: the task, entity, items, team."""
        async with self.db.pool.acquire() as conn:
            card = await store.task_card(conn, task_id, today=today or datetime.now(UTC).date())
        if card is None:
            raise NotFound(f"no task {task_id}", code="task_unknown")
        return PublicTask(
            task_id=card.task_id,
            entity_name=card.entity_name,
            uscc=card.uscc,
            items=[PublicTaskItem(code=i.code, name=i.name) for i in card.items],
            team=card.team,
            period_start=card.period_start,
            period_end=card.period_end,
            status=card.status,
        )

    async def versions(self, result_id: str) -> list[dict[str, Any]]:
        """Every version of a result, oldest first."""
        async with self.db.pool.acquire() as conn:
            return await store.result_versions(conn, result_id)

    async def deliveries(self, *, state: DeliveryState | None, limit: int) -> list[Delivery]:
        """Outbox rows, optionally of one state (`dead`: the dead letters)."""
        async with self.db.pool.acquire() as conn:
            return await store.list_deliveries(conn, state=state, limit=limit)

    async def receipts(self, *, state: str | None, limit: int) -> list[PlatformReceipt]:
        """The platforms' receipts of plans as read (`refused`: what the planner refused)."""
        async with self.db.pool.acquire() as conn:
            return await receipts_store.list_receipts(conn, state=state, limit=limit)

    async def at_risk_and_overdue(self, *, today: date | None = None) -> list[DeadlineEntry]:
        """Unpublished results at risk or overdue; refreshes the metric counts."""
        today = today or datetime.now(UTC).date()
        async with self.db.pool.acquire() as conn:
            workdays = self.workdays.of(await store.read_calendar(conn))
            rows = await store.unpublished(conn)
            outbox = await store.outbox_counts(conn)
        out: list[DeadlineEntry] = []
        counts = {s.value: 0 for s in DeadlineState}
        for r in rows:
            d = deadline(r.check_date, today=today, workdays=workdays)
            counts[d.state.value] += 1
            if d.state in (DeadlineState.AT_RISK, DeadlineState.OVERDUE):
                out.append(
                    DeadlineEntry(
                        result_id=r.result_id,
                        version=r.version,
                        task_id=r.task_id,
                        uscc=r.uscc,
                        check_date=r.check_date,
                        due_date=d.due,
                        state=d.state.value,
                        working_days_left=d.working_days_left,
                        provisional=d.provisional,
                    )
                )
        self.counts = {
            **{f"deadline_{k}": v for k, v in counts.items()},
            **{f"outbox_{k}": v for k, v in outbox.items()},
        }
        return out

    # ---- public notices (公示) and open data ------------------------------------------------

    async def item_notices(self) -> list[ItemNotice]:
        """抽查事项清单: the item catalogue as the approved plans carry it."""
        async with self.db.pool.acquire() as conn:
            return await store.item_notices(conn)

    async def plan_notices(self) -> list[PlanNotice]:
        """计划公告: approved plans, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.plan_notices(conn)

    async def task_notices(
        self, *, query: str | None, draw_id: str | None
    ) -> tuple[list[TaskNotice], list[DrawNotice]]:
        """任务公告: tasks matching a search, and the draws they come from (or just `draw_id`)."""
        async with self.db.pool.acquire() as conn:
            rows = await store.task_notices(conn, query=query, draw_id=draw_id)
            draws = await store.draw_notices(conn, draw_id=draw_id)
        return rows, draws

    async def draw_notices(self) -> list[DrawNotice]:
        """Every draw we know of, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.draw_notices(conn)

    async def result_notices(self, *, query: str | None, limit: int = 200) -> list[ResultNotice]:
        """结果公告: published results matching a search, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.result_notices(conn, query=query, limit=limit)

    # ---- the public site (一公开): pages of the notices, the company search -------------------

    def public_filter(self, **values: Any) -> NoticeFilter:
        """The checked filter of a public page; a value that cannot be right is `Invalid`
        (422, naming the query parameter)."""
        try:
            return notice_filter(**values, categories=self.categories)
        except FilterRefused as exc:
            raise Invalid(
                f"{exc.field} {exc.value!r} is not a valid value",
                code="invalid_filter",
                details=[
                    {
                        "loc": ["query", exc.field],
                        "msg": f"not a valid {exc.field}",
                        "msg_zh": "筛选条件的取值无效",
                        "type": "value_error",
                    }
                ],
            ) from exc

    async def task_page(self, f: NoticeFilter) -> TaskNoticePage:
        """任务公告: one page of tasks matching the filter, newest period first."""
        async with self.db.pool.acquire() as conn:
            return await store.task_page(conn, f)

    async def result_page(self, f: NoticeFilter) -> ResultNoticePage:
        """结果公告: one page of published results matching the filter, newest first."""
        async with self.db.pool.acquire() as conn:
            return await store.result_page(conn, f)

    async def plan_page(self, f: NoticeFilter) -> PlanNoticePage:
        """计划公告: one page of approved plans (by year, department, item)."""
        async with self.db.pool.acquire() as conn:
            return await store.plan_page(conn, f)

    async def company_page(self, f: NoticeFilter) -> CompanyPage:
        """Entities with public records answering the search (name part or USCC start)."""
        if f.search is None:
            return CompanyPage(total=0, offset=f.offset, limit=f.limit, companies=[])
        async with self.db.pool.acquire() as conn:
            return await store.company_page(conn, f)

    async def company_history(self, uscc: str) -> CompanyHistory:
        """An entity's tasks and published results (empty for one never drawn)."""
        code = uscc.strip().upper()
        if len(code) != USCC_LENGTH or not (code.isascii() and code.isalnum()):
            raise Invalid(f"{uscc!r} is not a unified social credit code", code="invalid_uscc")
        async with self.db.pool.acquire() as conn:
            return await store.company_history(conn, code)

    async def overview(self, year: int | None) -> PublicOverview:
        """A year's figures (this year's when none is given) and the filters' values."""
        y = year if year is not None else datetime.now(UTC).year
        self.public_filter(year=y)
        categories = [NoticeOption(code=c.code, name=c.name) for c in self.categories.all()]
        async with self.db.pool.acquire() as conn:
            return await store.overview(conn, y, categories)

    # ---- the leaders' statistics (console /console/stats) -------------------------------------

    async def stats(
        self,
        *,
        year: int,
        region: str | None = None,
        department: str | None = None,
        today: date | None = None,
        kind: str = "random",
    ) -> TaskStats:
        """A year's tasks of one kind (random or triggered: never mixed) and their results
        counted in SQL: per department, inspector, region, risk class, item and industry, and
        the results' publication within their 20 working days."""
        f = store.StatsFilter(
            year=year,
            region=region,
            department=department,
            today=today or datetime.now(UTC).date(),
            kind=kind,
        )
        violations = [c.code for c in self.categories.all() if c.violation]
        async with self.db.pool.acquire() as conn:
            return await store.task_stats(conn, f, violations=violations)
