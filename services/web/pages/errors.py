"""Errors as pages: a person gets a page in Chinese, never a JSON body (`/admin/` and
`/audit/` keep JSON)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.kit.errors import DomainError
from services.kit.http import HTTP_CODES, error_response
from services.kit.logs import request_id_var
from services.web.render import Pages
from services.web.sessions import SignInNeeded

HEADINGS = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    409: "操作冲突",
    413: "内容过大",
    422: "填写有误",
    503: "服务暂时不可用",
}


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(
        ("/admin/", "/api/", "/audit/")
    ) or "application/json" in request.headers.get("accept", "")


def install(app: FastAPI, *, pages: Pages) -> None:
    """Replace the kit's JSON error handlers with pages for people."""

    def page(
        request: Request, status: int, code: str, message: str, details: list[dict[str, object]]
    ) -> Response:
        return pages.render(
            request,
            "error.html",
            {
                "heading": HEADINGS.get(status, "出错了"),
                "message": message,
                "details": details,
                "code": code,
                "request_id": request_id_var.get(),
                "back": request.headers.get("referer", "") if request.method == "GET" else "",
            },
            status_code=status,
        )

    @app.exception_handler(SignInNeeded)
    async def _sign_in(request: Request, exc: SignInNeeded) -> Response:
        if _wants_json(request):
            return error_response(401, exc.code, exc.message)
        return RedirectResponse(f"/login?next={quote(exc.next_url, safe='/')}", status_code=303)

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> Response:
        if _wants_json(request):
            return error_response(exc.status, exc.code, exc.message, exc.details)
        return page(request, exc.status, exc.code, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        details = [
            {"loc": list(e.get("loc", [])), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        if _wants_json(request):
            return error_response(422, "invalid", "the request is not valid", details)
        return page(request, 422, "invalid", "提交的内容不完整或格式有误，请返回检查。", details)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        code = HTTP_CODES.get(exc.status_code, "http_error")
        if _wants_json(request):
            return error_response(exc.status_code, code, str(exc.detail))
        message = "您要找的页面不存在。" if exc.status_code == 404 else str(exc.detail)
        return page(request, exc.status_code, code, message, [])
