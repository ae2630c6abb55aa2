"""The officers' console (`/console/`, issue #13): planners, draw officers, policy staff and
auditors, desktop first and usable on a tablet, all in Chinese.

One module per area (`draws.py` and its 换人 page `restaff.py`, `plans.py`, `joint_plans.py`,
`rules.py` and its 事项清单导入 `catalogue.py`, `audit.py`, `stats.py`) and `shell.py` for the
front page.
Every page checks the person's role (`person_dependency(roles=...)`, a 403 page otherwise)
and, where a department owns the thing, their department; every step is taken by the service
that owns it with the person's own token, so the services check again.
"""

from fastapi import APIRouter

from services.web.commands.ceremony import CeremonyCommands
from services.web.commands.plans import PlanCommands
from services.web.commands.rules import RuleCommands
from services.web.pages.console import (
    audit,
    catalogue,
    draws,
    joint_plans,
    plans,
    restaff,
    rules,
    shell,
    stats,
)
from services.web.queries import WebQueries
from services.web.queries.audit import AuditReads
from services.web.queries.draws import DrawReads
from services.web.queries.plans import PlanReads
from services.web.queries.rules import RuleReads
from services.web.queries.stats import StatsReads
from services.web.render import Pages
from services.web.sessions import CookieNames


def router(
    *,
    pages: Pages,
    queries: WebQueries,
    cookies: CookieNames,
    draw_reads: DrawReads,
    ceremony: CeremonyCommands,
    plan_reads: PlanReads,
    plan_commands: PlanCommands,
    rule_reads: RuleReads,
    rule_commands: RuleCommands,
    audit_reads: AuditReads,
    stats_reads: StatsReads,
) -> APIRouter:
    """Every console route."""
    r = APIRouter(include_in_schema=False)
    r.include_router(shell.router(pages=pages, queries=queries, cookies=cookies))
    r.include_router(
        draws.router(
            pages=pages, queries=queries, cookies=cookies, reads=draw_reads, ceremony=ceremony
        )
    )
    r.include_router(
        restaff.router(
            pages=pages, queries=queries, cookies=cookies, reads=draw_reads, ceremony=ceremony
        )
    )
    # Joint plans first: `/console/plans/{plan_id}` of the plans' routes is more general.
    r.include_router(
        joint_plans.router(
            pages=pages, queries=queries, cookies=cookies, reads=plan_reads, commands=plan_commands
        )
    )
    r.include_router(
        plans.router(
            pages=pages, queries=queries, cookies=cookies, reads=plan_reads, commands=plan_commands
        )
    )
    # Before the rules' routes: `/console/rules/catalogue` is no candidate or rule file.
    r.include_router(
        catalogue.router(
            pages=pages, queries=queries, cookies=cookies, reads=rule_reads, commands=rule_commands
        )
    )
    r.include_router(
        rules.router(
            pages=pages,
            queries=queries,
            cookies=cookies,
            reads=rule_reads,
            commands=rule_commands,
            plans=plan_reads,
        )
    )
    r.include_router(audit.router(pages=pages, queries=queries, cookies=cookies, reads=audit_reads))
    r.include_router(stats.router(pages=pages, queries=queries, cookies=cookies, reads=stats_reads))
    return r
