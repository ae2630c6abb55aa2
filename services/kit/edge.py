"""Input checked at the HTTP edge of every service: one rule for text, one for paging numbers.

Text: no control characters — C0 (U+0000–U+001F), DEL and C1 (U+0080–U+009F) — and no lone
surrogate (U+D800–U+DFFF, which is no character and has no UTF-8); a multi-line value (a string
of a JSON or form body) may hold tab, line feed and carriage return, a single-line one (a query
or path parameter, a JSON object's key) none. PostgreSQL stores no NUL and no lone surrogate in
text, and none of the others belongs in a name, a title or an identifier: refused up front with a
422 naming the field, never a 500 from the database.

Paging numbers: `Limit` (1‥`MAX_LIMIT`), `Offset` (0‥`MAX_OFFSET`) and `RowId` (0‥`MAX_ROW_ID`,
PostgreSQL's bigint), as `Annotated` types for a route's query and path parameters: a negative or
20-digit number is a 422, never a PostgreSQL overflow. A route may clamp further to its own page.
Filters likewise: `Year` (2000‥2100), `RegionCode`, `DepartmentCode`.

`check_request` applies the text rule to every request (the app factory installs it as a
dependency of every route): query parameters, path parameters and the parsed JSON or form body.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Request, params
from fastapi.routing import APIRoute
from pydantic import Field
from starlette.datastructures import UploadFile

from services.kit.errors import Invalid, UnsupportedMediaType

# A page of rows: no route answers more than this many at once.
MAX_LIMIT = 10_000
# How far a page may start: PostgreSQL's integer, far past any list we keep.
MAX_OFFSET = 2**31 - 1
# A row's number (a bigserial, an audit entry's seq): PostgreSQL's bigint.
MAX_ROW_ID = 2**63 - 1

Limit = Annotated[int, Field(ge=1, le=MAX_LIMIT)]
Offset = Annotated[int, Field(ge=0, le=MAX_OFFSET)]
RowId = Annotated[int, Field(ge=0, le=MAX_ROW_ID)]
# Filters: a year (of plans, draws, statistics: a 20-digit one must not reach PostgreSQL), a
# region (GB/T 2260, six digits) and a department code (the rule files' `Code`). ASCII digits
# only: `\d` would take any script's.
Year = Annotated[int, Field(ge=2000, le=2100)]
RegionCode = Annotated[str, Field(pattern=r"^[0-9]{6}$")]
DepartmentCode = Annotated[str, Field(pattern=r"^[A-Za-z0-9._:-]{1,64}$")]

_LINE_BAD = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_TEXT_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
# A JSON body can only carry a character the rule refuses as an escape (\uXXXX, \b, \f) or as
# raw C1 bytes (raw C0 is not JSON): without any of these the parsed body needs no walk.
_JSON_SUSPECT = re.compile(rb"\\[ubf]|\xc2[\x80-\x9f]")
_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def text_problem(value: str, *, multiline: bool) -> str | None:
    """Why `value` breaks the text rule, or None."""
    bad = (_TEXT_BAD if multiline else _LINE_BAD).search(value)
    if bad is None:
        return None
    char = bad.group()
    if "\ud800" <= char <= "\udfff":
        return f"a lone surrogate U+{ord(char):04X} at position {bad.start()} is not text"
    return f"control character U+{ord(char):04X} at position {bad.start()} is not allowed"


def _walk(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...], str]]:
    if isinstance(value, str):
        problem = text_problem(value, multiline=True)
        if problem:
            yield loc, problem
    elif isinstance(value, dict):
        for key, item in value.items():
            problem = text_problem(str(key), multiline=False)
            if problem:
                yield (*loc, key), f"field name: {problem}"
            yield from _walk(item, (*loc, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _walk(item, (*loc, i))


def text_problems(request: Request) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, problem) of each query or path parameter that breaks the text rule."""
    for name, value in request.query_params.multi_items():
        if not name:
            yield ("query", ""), "a query parameter needs a name"
            continue
        problem = text_problem(name, multiline=False) or text_problem(value, multiline=False)
        if problem:
            yield ("query", name), problem
    for name, value in request.path_params.items():
        if isinstance(value, str):
            problem = text_problem(value, multiline=False)
            if problem:
                yield ("path", name), problem


async def body_problems(request: Request) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """(location, problem) of each string of a JSON or form body that breaks the text rule.

    Only a body the route declares (FastAPI has read and parsed it, and keeps it on the
    request); a raw body a route streams itself (a CSV chunk, an attachment) is its own.
    """
    route = request.scope.get("route")
    if getattr(route, "body_field", None) is None:
        return iter(())
    kind = _media_type(request)
    if _is_json(kind):
        if not _JSON_SUSPECT.search(await request.body()):
            return iter(())
        try:
            parsed = await request.json()
        except ValueError:
            return iter(())  # FastAPI has answered this one already
        return _walk(parsed, ("body",))
    if kind in _FORMS:
        form = await request.form()
        found = []
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                continue
            problem = text_problem(name, multiline=False) or text_problem(value, multiline=True)
            if problem:
                found.append((("body", name), problem))
        return iter(found)
    return iter(())


def _is_json(kind: str) -> bool:
    return kind == "application/json" or (
        kind.startswith("application/") and kind.endswith("+json")
    )


def _media_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


async def check_media_type(request: Request) -> None:
    """Refuse (415) a body a route would read as JSON (or as a form) sent as something else,
    or with no Content-Type: FastAPI would hand the raw bytes on and fail them as 'not a
    list' or 'not an object', which says nothing of the real mistake."""
    route = request.scope.get("route")
    body_field = getattr(route, "body_field", None)
    if body_field is None:
        return
    kind = _media_type(request)
    if isinstance(body_field.field_info, params.Form):
        # FastAPI has read the form (an empty one when it was not a form at all)
        if kind and kind not in _FORMS:
            raise UnsupportedMediaType(
                f"the body must be a form ({' or '.join(_FORMS)}), not {kind}"
            )
    elif await request.body() and not _is_json(kind):
        raise UnsupportedMediaType(
            f"the body must be JSON (Content-Type: application/json), not {kind or 'untyped'}"
        )


def unknown_query_parameters(request: Request) -> list[str]:
    """Query parameters the API route does not take, in the order sent. Only routes of the
    OpenAPI document (the APIs) are strict: a misspelt `?limt=` must not silently mean the
    default; pages (left out of the document) ignore what links from elsewhere add."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return []
    known = _query_names(route)
    return [name for name in dict.fromkeys(request.query_params.keys()) if name not in known]


def _query_names(route: APIRoute) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included; kept on the route (an
    app's routes are fixed once built; a route is not hashable, so no cache dict)."""
    known: frozenset[str] | None = getattr(route, "_spotcheck_query_names", None)
    if known is None:
        names: set[str] = set()
        pending = [route.dependant]
        while pending:
            dependant = pending.pop()
            names.update(field.alias for field in dependant.query_params)
            pending.extend(dependant.dependencies)
        known = frozenset(names)
        route._spotcheck_query_names = known  # type: ignore[attr-defined]
    return known


async def check_request(request: Request) -> None:
    """Refuse a body of the wrong media type (415), and a request whose text breaks the rule or
    that names a query parameter the route does not take (422, every field named)."""
    await check_media_type(request)
    found = [*text_problems(request), *(await body_problems(request))]
    unknown = unknown_query_parameters(request)
    if found or unknown:
        raise Invalid(
            "the request holds characters that are not allowed"
            if found
            else f"unknown query parameter(s): {', '.join(unknown)}",
            code="invalid",
            details=[
                *(
                    {"loc": list(loc), "msg": msg, "type": "text_control_character"}
                    for loc, msg in found
                ),
                *(
                    {
                        "loc": ["query", name],
                        "msg": "unknown parameter",
                        "type": "unknown_parameter",
                    }
                    for name in unknown
                ),
            ],
        )
