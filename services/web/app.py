"""Wiring of the web service: the one place that builds its objects."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles

from services.kit.auth import load_or_create_key
from services.kit.errors import NotFound
from services.kit.service import ServiceContext, ServiceSpec
from services.kit.settings import Settings
from services.web import api
from services.web.backends import SELF, SERVICE_NAMES, BackendError, Backends
from services.web.commands import AccountCommands, InspectionCommands
from services.web.commands.ceremony import CeremonyCommands
from services.web.commands.plans import PlanCommands
from services.web.commands.rules import RuleCommands
from services.web.domain.people import LockoutPolicy, SessionPolicy
from services.web.headers import SecurityHeaders
from services.web.pages import auth, console, errors, mobile, public, sso
from services.web.passwords import Passwords
from services.web.queries import TaskReads, WebQueries
from services.web.queries.audit import AuditReads
from services.web.queries.draws import DrawReads
from services.web.queries.plans import PlanReads
from services.web.queries.public import PublicReads
from services.web.queries.rules import RuleReads
from services.web.queries.stats import StatsReads
from services.web.render import Pages
from services.web.sessions import CookieNames
from services.web.settings import WebSettings, load_web_settings
from services.web.sso import SsoSignIn
from services.web.store import WebStore

STATIC = Path(__file__).parent / "static"


@dataclass
class ConsoleParts:
    """The officers' console's reads and steps (issue #13)."""

    draw_reads: DrawReads
    ceremony: CeremonyCommands
    plan_reads: PlanReads
    plan_commands: PlanCommands
    rule_reads: RuleReads
    rule_commands: RuleCommands
    audit_reads: AuditReads
    stats_reads: StatsReads


@dataclass
class WebApp:
    """The web service's own objects."""

    settings: WebSettings
    backends: Backends
    accounts: AccountCommands
    inspections: InspectionCommands
    queries: WebQueries
    reads: TaskReads
    pages: Pages
    public_reads: PublicReads
    cookies: CookieNames
    console: ConsoleParts
    # Sign-in through the province's SSO, when configured (`WebSettings.oidc_enabled`).
    sso: SsoSignIn | None = None


def backend_urls(kit: Settings, web: WebSettings) -> dict[str, str]:
    """Where each service answers: the web settings' URL, else this host and its port."""
    return {
        name: getattr(web, f"{name}_url") or f"http://{kit.http_host}:{kit.port_of(name)}"
        for name in SERVICE_NAMES
    }


def build(ctx: ServiceContext, web: WebSettings | None = None) -> WebApp:
    """Build the web service's objects, each handed its dependencies by keyword."""
    web = web or load_web_settings()
    kit = ctx.settings
    backends = Backends(
        urls=backend_urls(kit, web),
        key=None if kit.jwt_jwks_url else load_or_create_key(kit.key_file()),
        token_ttl_s=web.backend_token_ttl_s,
        timeout_s=web.backend_timeout_s,
        issuer=kit.jwt_issuer,
        audience=kit.jwt_audience,
    )

    async def roster_status(inspector_id: str, *, bearer: str | None = None) -> str | None:
        if not inspector_id:
            return None  # no id is in no roster (and `/inspectors/` is another route)
        caller = replace(SELF, bearer=bearer) if bearer else SELF
        try:
            record = await backends.get(
                "registry", f"/inspectors/{quote(inspector_id, safe='')}", caller=caller
            )
        except (BackendError, NotFound) as exc:
            if getattr(exc, "status", 404) == 404:
                return None
            raise
        return str(record.get("status", ""))

    store = WebStore(db=ctx.db)
    sessions = SessionPolicy(idle_minutes=web.session_idle_minutes, max_hours=web.session_max_hours)
    accounts = AccountCommands(
        db=ctx.db,
        store=store,
        audit=ctx.audit,
        passwords=Passwords(),
        roster=roster_status,
        lockout=LockoutPolicy(failures=web.lockout_failures, minutes=web.lockout_minutes),
        sessions=sessions,
        password_min_length=web.password_min_length,
        password_sign_in=not web.oidc_enabled,
        sign_in_wait_s=web.sign_in_wait_s,
    )
    single_sign_on = (
        SsoSignIn(
            issuer=web.oidc_issuer,
            client_id=web.oidc_client_id,
            client_secret=web.oidc_client_secret,
            username_claim=web.oidc_username_claim,
            store=store,
            accounts=accounts,
            keep_access_token=bool(kit.jwt_jwks_url),
            timeout_s=web.backend_timeout_s,
        )
        if web.oidc_enabled
        else None
    )
    return WebApp(
        settings=web,
        backends=backends,
        accounts=accounts,
        inspections=InspectionCommands(backends=backends),
        queries=WebQueries(store=store, sessions=sessions),
        reads=TaskReads(backends=backends),
        pages=Pages(),
        public_reads=PublicReads(backends=backends),
        cookies=CookieNames(secure=web.cookie_secure),
        console=ConsoleParts(
            draw_reads=DrawReads(backends=backends),
            ceremony=CeremonyCommands(backends=backends),
            plan_reads=PlanReads(backends=backends),
            plan_commands=PlanCommands(backends=backends),
            rule_reads=RuleReads(backends=backends),
            rule_commands=RuleCommands(backends=backends),
            audit_reads=AuditReads(backends=backends, own=ctx.audit),
            stats_reads=StatsReads(backends=backends),
        ),
        sso=single_sign_on,
    )


def _routers(ctx: ServiceContext, app: WebApp) -> list[APIRouter]:
    routers = [
        api.router(accounts=app.accounts, queries=app.queries),
        auth.router(
            pages=app.pages,
            accounts=app.accounts,
            queries=app.queries,
            cookies=app.cookies,
            min_password_length=app.settings.password_min_length,
            oidc=app.settings.oidc_enabled,
        ),
        mobile.router(
            pages=app.pages,
            reads=app.reads,
            inspections=app.inspections,
            queries=app.queries,
            cookies=app.cookies,
            public_base_url=app.settings.public_base_url,
        ),
        console.router(
            pages=app.pages, queries=app.queries, cookies=app.cookies, **vars(app.console)
        ),
    ]
    routers.append(public.router(pages=app.pages, reads=app.public_reads))
    if app.sso is not None:
        routers.append(
            sso.router(
                pages=app.pages,
                sso=app.sso,
                cookies=app.cookies,
                public_base_url=app.settings.public_base_url,
            )
        )
    return routers


def _configure(fastapi_app: FastAPI, ctx: ServiceContext, app: WebApp) -> None:
    fastapi_app.mount("/static", StaticFiles(directory=STATIC), name="static")
    fastapi_app.add_middleware(SecurityHeaders)
    errors.install(fastapi_app, pages=app.pages)


async def _stop(ctx: ServiceContext, app: WebApp) -> None:
    await app.backends.close()
    if app.sso is not None:
        await app.sso.close()


def spec() -> ServiceSpec[WebApp]:
    """How the web service is put together."""
    return ServiceSpec(
        name="web",
        migrations=Path(__file__).parent / "migrations",
        build=build,
        routers=_routers,
        stop=_stop,
        configure=_configure,
    )
