"""HTTP API of the planner service (thin: parse, authorise, call one command or query)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request

from contracts.base import Contract
from contracts.common import STATS_ROLES, Role
from contracts.planner import (
    PLAN_ID_PATTERN,
    CatalogueItem,
    ItemCatalogue,
    JointPlanDraft,
    JointPlanJoin,
    JointPlanStart,
    PlanAccepted,
    PlanFiling,
    PlanFilingAck,
    PlanStats,
    PlanSubmission,
    RulesActivated,
)
from contracts.rules import ItemKind
from services.kit.auth import Principal, public, require
from services.kit.edge import DepartmentCode, Limit, RowId, Year
from services.kit.errors import Forbidden, Invalid
from services.kit.service import ServiceContext
from services.planner.catalogue_imports import UPLOAD, CatalogueImports
from services.planner.commands import PlannerCommands
from services.planner.filings import PlanFilings
from services.planner.joint import JointPlans
from services.planner.queries import PlannerQueries


class RuleFilesBody(Contract):
    """A rule directory as text: {relative path: UTF-8 content}."""

    files: dict[str, str]


class CandidateBody(Contract):
    """`POST /rules/candidates`: a candidate rule set as text, and what it was edited from."""

    files: dict[str, str]
    based_on: str | None = None
    note: str = ""


class SimulateBody(Contract):
    """A plan and the candidate rule files."""

    plan: PlanSubmission
    files: dict[str, str]


# Who may call what (FastAPI dependencies; each checks the bearer token's role).
PolicyStaff = Annotated[Principal, require(Role.POLICY)]
RulesReader = Annotated[Principal, require(Role.POLICY, Role.PLANNER, Role.AUDITOR)]
HistoryReader = Annotated[Principal, require(Role.POLICY, Role.AUDITOR)]
Simulator = Annotated[Principal, require(Role.POLICY, Role.PLANNER)]
PlanSubmitter = Annotated[Principal, require(Role.PLANNER, Role.POLICY)]
StatsReader = Annotated[Principal, require(*STATS_ROLES)]
JointPlanner = Annotated[Principal, require(Role.PLANNER)]
JointReader = Annotated[Principal, require(Role.PLANNER, Role.POLICY)]
PlanId = Annotated[str, Path(pattern=PLAN_ID_PATTERN)]
FilingRecorder = Annotated[Principal, require(Role.OPERATOR)]
ExportName = Annotated[str, Query(min_length=1, max_length=200, pattern=r"^[^/\\]+$")]
PlanReader = Annotated[
    Principal, require(Role.PLANNER, Role.POLICY, Role.AUDITOR, Role.DRAW_OFFICER)
]


def _bytes(files: dict[str, str]) -> dict[str, bytes]:
    return {p: t.encode("utf-8") for p, t in files.items()}


def router(
    ctx: ServiceContext,
    *,
    commands: PlannerCommands,
    queries: PlannerQueries,
    joint: JointPlans,
    imports: CatalogueImports,
    filings: PlanFilings,
) -> APIRouter:
    """The planner service's routes."""
    r = APIRouter(tags=["planner"])

    @r.post("/rules/check")
    async def check(body: RuleFilesBody, _: PolicyStaff) -> dict[str, Any]:
        rs = await commands.check(_bytes(body.files))
        return {
            "version": rs.version,
            "items": len(rs.items),
            "rules": len(rs.rules),
            "holidays": [h.year for h in rs.holidays],
        }

    @r.post("/rules/activate")
    async def activate(body: RuleFilesBody, who: PolicyStaff) -> RulesActivated:
        return await commands.activate(_bytes(body.files), actor=who.sub)

    @r.get("/rules/active")
    async def active(_: RulesReader) -> dict[str, Any]:
        return await queries.active_rules()  # what PostgreSQL says is active now

    @r.get("/rules/history")
    async def history(_: HistoryReader) -> list[dict[str, Any]]:
        return await queries.history()

    @r.get("/rules/versions/{version}")
    async def version(version: str, _: HistoryReader) -> dict[str, Any]:
        """A stored rule-set version with its files (the active one is where edits start)."""
        return await queries.version(version)

    @r.post("/rules/candidates", status_code=201)
    async def keep_candidate(body: CandidateBody, who: PolicyStaff) -> dict[str, Any]:
        """Keep a candidate set (uploaded or edited in the console); its id is its SHA-256."""
        candidate_id = await commands.keep_candidate(
            _bytes(body.files), based_on=body.based_on, note=body.note[:200], actor=who.sub
        )
        return {"candidate_id": candidate_id}

    @r.get("/rules/candidates")
    async def candidates(_: PolicyStaff) -> list[dict[str, Any]]:
        """Candidate sets, newest first."""
        return await queries.candidates()

    @r.get("/rules/candidates/{candidate_id}")
    async def candidate(candidate_id: str, _: PolicyStaff) -> dict[str, Any]:
        """A candidate's files, its check (errors with file and line) and its tests' results."""
        return await queries.candidate(candidate_id)

    @r.post("/rules/simulate")
    async def simulate(body: SimulateBody, _: Simulator) -> dict[str, Any]:
        return await queries.simulate(body.plan, _bytes(body.files))

    # ---- the catalogue export of 互联网+监管 → a rule candidate (issue 19) --------------------

    @r.post(
        "/rules/catalogue-imports",
        status_code=201,
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "text/csv": {"schema": {"type": "string"}},
                    "application/json": {"schema": {}},
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                },
            }
        },
    )
    async def import_catalogue(
        request: Request,
        who: PolicyStaff,
        name: ExportName = "export.csv",
        format: Literal["csv", "json"] | None = None,
    ) -> dict[str, Any]:
        """The catalogue exported from 互联网+监管 (the file's bytes: CSV in UTF-8 or GB18030,
        or JSON), diffed against the active items: a rule candidate whose item files are edited
        to match (`candidate_id`; none when nothing differs) and the diff. Every bad row is
        refused with file, line, field and reason, and nothing is recorded."""
        data = await request.body()
        if not data:
            raise Invalid("the body is empty: send the export file's bytes", code="no_file")
        return await imports.import_export(
            data, name=name, source=UPLOAD, actor=who.sub, fmt=format
        )

    @r.get("/rules/catalogue-imports")
    async def catalogue_imports(_: PolicyStaff, limit: Limit = 50) -> list[dict[str, Any]]:
        """Catalogue imports newest first, with their counts."""
        return await imports.list(limit)

    @r.get("/rules/catalogue-imports/{import_id}")
    async def catalogue_import(import_id: RowId, _: PolicyStaff) -> dict[str, Any]:
        """One catalogue import with its diff and candidate."""
        return await imports.show(import_id)

    # ---- the item catalogue (抽查事项清单): public, no token -------------------------------

    @r.get("/items")
    @public
    async def items(department: str | None = None, kind: ItemKind | None = None) -> ItemCatalogue:
        """The active rule set's item catalogue, each item with its checklist (检查表);
        `?department=SCJG`, `?kind=general|priority` narrow it."""
        return await queries.catalogue(department=department, kind=kind)

    @r.get("/items/{code}")
    @public
    async def item(code: str) -> CatalogueItem:
        """One item of the active catalogue with its checklist; 404 when it has no such item."""
        return await queries.item(code)

    @r.post("/plans", status_code=201)
    async def submit(plan: PlanSubmission, who: PlanSubmitter) -> PlanAccepted:
        # A planner's token always names a department (services/kit/auth.py).
        if who.role is Role.PLANNER and who.dept not in plan.departments:
            raise Forbidden(f"a planner of {who.dept} cannot submit a plan of {plan.departments}")
        return await commands.submit(plan, actor=who.sub)

    @r.get("/plans")
    async def plans(
        who: PlanReader,
        year: Year | None = None,
        department: str | None = None,
        status: str | None = None,
        limit: int = 200,
    ) -> list[dict[str, Any]]:
        """Plans newest first; a planner sees their own department's."""
        if who.role is Role.PLANNER and who.dept is not None:
            department = who.dept
        return await queries.plans(year=year, department=department, status=status, limit=limit)

    @r.get("/stats/plans")
    async def plan_stats(
        _: StatsReader, year: Year, department: DepartmentCode | None = None
    ) -> PlanStats:
        """A year's plans for the leaders' statistics: approved, rejected, joint; late filings;
        joint strata among all strata (能联尽联); general items outside key supervision that a
        plan checks; the ratio planned per risk class."""
        return await queries.stats(year=year, department=department)

    # ---- joint plans (联合抽查, 能联尽联): before /plans/{plan_id}, which would take "joint" --

    @r.post("/plans/joint", status_code=201)
    async def joint_start(body: JointPlanStart, who: JointPlanner) -> JointPlanDraft:
        """The lead department's planner (the caller's department leads) starts a joint plan
        draft with its own items, inviting the other `departments`."""
        return await joint.start(body, who=who)

    @r.get("/plans/joint")
    async def joint_drafts(
        who: JointReader,
        department: DepartmentCode | None = None,
        year: Year | None = None,
        limit: Limit = 200,
    ) -> list[JointPlanDraft]:
        """Joint plan drafts newest first, with who joined and each department's items; a
        planner sees those their department leads or is invited to."""
        return await joint.drafts(who=who, department=department, year=year, limit=limit)

    @r.get("/plans/joint/{plan_id}")
    async def joint_draft(plan_id: PlanId, who: JointReader) -> JointPlanDraft:
        """One joint plan draft."""
        return await joint.show(plan_id, who=who)

    @r.post("/plans/joint/{plan_id}/join")
    async def joint_join(plan_id: PlanId, body: JointPlanJoin, who: JointPlanner) -> JointPlanDraft:
        """An invited department joins with its own items (again: they are replaced)."""
        return await joint.join(plan_id, body, who=who)

    @r.post("/plans/joint/{plan_id}/submit", status_code=201)
    async def joint_submit(plan_id: PlanId, who: JointPlanner) -> PlanAccepted:
        """The lead submits the assembled plan once every invited department has joined:
        the same submission as `POST /plans`."""
        return await joint.submit(plan_id, who=who)

    @r.post("/plans/{plan_id}/filing")
    async def filing(plan_id: PlanId, body: PlanFilingAck, who: FilingRecorder) -> PlanFiling:
        """The 监督平台 acknowledged an approved plan (its receipt id and date): the date becomes
        the plan's `entered_on` (or `filed_on`) and its filing flags are recomputed."""
        return await filings.acknowledge(plan_id, body, actor=who.sub)

    @r.get("/plans/{plan_id}")
    async def show(plan_id: str, who: PlanReader) -> dict[str, Any]:
        """A stored plan; an approved one to every reader, a rejected one to its departments'
        planners, the policy staff and the auditors (services/planner/domain/readers.py)."""
        return await queries.show(plan_id, role=who.role, dept=who.dept)

    return r
