"""The console's 事项清单导入 leaves the export's format to the planner, as the API and the CLI
do: a JSON export named `.txt`, or with no extension, is imported as JSON. The planner here is
its own reading (`detect_format`, `read_export`) behind an HTTP mock, so a format the console
forced on it would be read as the planner would read it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from services.planner.domain.export import ExportInvalid, detect_format, read_export
from services.web.backends import Backends
from services.web.commands import seal
from services.web.commands.rules import RuleCommands
from services.web.pages.console import catalogue
from services.web.render import Pages
from services.web.sessions import CookieNames
from services.web.store import SessionRow
from tests.catalogue_exports import DEPTS, HEADER, as_csv, shipped_rows
from tests.unit.web.test_rules_page import _policy

NOW = datetime(2026, 12, 4, tzinfo=UTC)


class _Queries:
    """The one session the test signs in with, the person's own (SSO) token kept with it: the
    web then needs no signing key to call the planner."""

    async def session(self, token: str) -> SessionRow | None:
        sealed = seal("sso-token", token=token)
        account = _policy().account
        return SessionRow("s", "csrf", NOW, NOW, NOW + timedelta(hours=1), account, sealed)


class _Reads:
    async def catalogue_imports(self, caller: Any) -> list[dict[str, Any]]:
        return []


def _planner(sent: list[httpx.Request]) -> httpx.MockTransport:
    """POST /rules/catalogue-imports as the planner reads it: the format given, else found."""

    def handle(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        name = request.url.params.get("name", "export.csv")
        given = request.url.params.get("format")
        fmt = given or detect_format(name, request.content)
        assert fmt in ("csv", "json")
        try:
            items, encoding = read_export(request.content, name=name, departments=DEPTS, fmt=fmt)
        except ExportInvalid as exc:
            error = {"code": exc.code, "message": str(exc), "details": exc.details}
            return httpx.Response(422, json={"error": error})
        body = {"import_id": 7, "format": fmt, "encoding": encoding, "rows": len(items)}
        return httpx.Response(201, json=body)

    return httpx.MockTransport(handle)


async def _upload(name: str, data: bytes) -> tuple[httpx.Response, list[httpx.Request]]:
    sent: list[httpx.Request] = []
    backends = Backends(
        urls={"planner": "http://planner.test"},
        key=None,
        token_ttl_s=300,
        timeout_s=5,
        issuer="spotcheck",
        audience="spotcheck",
        transport=_planner(sent),
    )
    app = FastAPI()
    app.include_router(
        catalogue.router(
            pages=Pages(),
            queries=_Queries(),  # type: ignore[arg-type]
            cookies=CookieNames(secure="never"),
            reads=_Reads(),  # type: ignore[arg-type]
            commands=RuleCommands(backends=backends),
        )
    )
    client = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app),
        base_url="http://web.test",
        cookies={"spotcheck_session": "s"},
    )
    async with client:
        response = await client.post(
            "/console/rules/catalogue",
            files={"export": (name, data, "text/plain")},
            data={"csrf_token": "csrf"},
        )
    return response, sent


def _json_export() -> bytes:
    rows = [dict(zip(HEADER, r, strict=True)) for r in shipped_rows()]
    return json.dumps(rows, ensure_ascii=False, indent=1).encode("utf-8")


@pytest.mark.parametrize("name", ["事项清单.txt", "export", "catalogue.json"])
async def test_a_json_export_is_imported_whatever_its_name(name: str) -> None:
    response, sent = await _upload(name, _json_export())
    assert response.status_code == 303, response.text
    assert response.headers["location"] == "/console/rules/catalogue/7"
    assert "format" not in sent[0].url.params  # the planner finds it from the content
    assert sent[0].headers["authorization"] == "Bearer sso-token"
    assert sent[0].url.params["name"] == name


async def test_a_csv_export_is_still_read_as_csv() -> None:
    response, sent = await _upload("清单.txt", as_csv(shipped_rows()).encode("gb18030"))
    assert response.status_code == 303, response.text
    assert "format" not in sent[0].url.params
    assert sent[0].headers["content-type"] == "application/octet-stream"
