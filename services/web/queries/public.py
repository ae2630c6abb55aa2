"""What the public site (一公开) shows, composed from the services that own it, with no token:
the publisher's notices, overview, company search and history; the planner's item catalogue
(and with it the departments' names); the draw service's records, lists and tasks; the
registry's name of an entity never drawn. Region names are GB/T 2260 and industry names GB/T
4754-2017, the registry's shipped code tables (pure data, `services.registry.library`).

Nothing is stored here. What changes only with a rules activation (the catalogue, the result
categories) is kept for `CATALOGUE_TTL_S`; a year's overview for `OVERVIEW_TTL_S`; the rest is
asked for each page, whose answer the browser and proxies may then keep (pages/public.py).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from services.kit.errors import NotFound
from services.registry.library import industries, regions
from services.web.backends import SELF, BackendError, Backends

CATALOGUE_TTL_S = 300.0
OVERVIEW_TTL_S = 30.0
T = TypeVar("T")


@dataclass
class _Kept:
    """A value and when it was fetched."""

    value: Any
    at: float


@dataclass
class Names:
    """How codes are written for people: departments, items, regions, industries, result
    categories."""

    departments: dict[str, str] = field(default_factory=dict)
    items: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)

    def department(self, code: str) -> str:
        """A department's name (its code when the catalogue does not know it)."""
        return self.departments.get(code) or self.departments.get(code.upper()) or code

    def item(self, code: str) -> str:
        """An item's name (its code when unknown)."""
        return self.items.get(code, code)

    def category(self, code: str) -> str:
        """A result category's name."""
        return self.categories.get(code, code)

    @staticmethod
    def region(code: str | None) -> str:
        """`景德镇市昌江区` for a county, `景德镇市` for a prefecture; the code when unknown."""
        if not code:
            return ""
        table = regions()
        row = table.get(code)
        if row is None:
            return code
        parent = table.get(row.parent) if row.level == "county" and row.parent else None
        if parent is not None and parent.name not in ("市辖区", "县"):
            return parent.name + row.name
        return row.name

    @staticmethod
    def industry(code: str) -> str:
        """An industry's GB/T 4754-2017 name (`C13` 农副食品加工业); the code when unknown."""
        row = industries().get(code)
        return code if row is None else row.name


class PublicReads:
    """The public pages' reads; every call is a public one (no token) except the registry's
    name of an entity, asked as the web service itself (read only, public fields kept)."""

    def __init__(self, *, backends: Backends, clock: Callable[[], float] = time.monotonic) -> None:
        self.backends = backends
        self.clock = clock
        self._kept: dict[str, _Kept] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    async def _keep(self, key: str, ttl_s: float, fetch: Callable[[], Awaitable[T]]) -> T:
        kept = self._kept.get(key)
        if kept is not None and self.clock() - kept.at < ttl_s:
            return kept.value  # type: ignore[no-any-return]
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            kept = self._kept.get(key)
            if kept is not None and self.clock() - kept.at < ttl_s:
                return kept.value  # type: ignore[no-any-return]
            value = await fetch()
            self._kept[key] = _Kept(value, self.clock())
            return value

    async def _get(self, service: str, path: str, **params: Any) -> Any:
        try:
            return await self.backends.get(service, path, caller=None, params=params)
        except BackendError as exc:
            if exc.status == 404:
                raise NotFound(exc.message, code=exc.code) from exc
            raise

    # ---- reference data ---------------------------------------------------------------------

    async def catalogue(self) -> dict[str, Any]:
        """The planner's item catalogue (抽查事项清单), every item with its checklist."""
        return await self._keep(
            "catalogue", CATALOGUE_TTL_S, lambda: self._get("planner", "/items")
        )

    async def categories(self) -> list[dict[str, Any]]:
        """The national result categories (code, name, parent, violation)."""

        async def fetch() -> list[dict[str, Any]]:
            reply = await self._get("publisher", "/public/result-categories.json")
            return list(reply["categories"])

        return await self._keep("categories", CATALOGUE_TTL_S, fetch)

    async def names(self) -> Names:
        """Department, item and category names from the catalogue and the category table."""
        catalogue, categories = await asyncio.gather(self.catalogue(), self.categories())
        names = Names()
        for item in catalogue.get("items", []):
            dept = item.get("department") or {}
            if dept.get("code"):
                names.departments[dept["code"]] = dept.get("name") or dept["code"]
            names.items[item["code"]] = item["name"]
        names.categories = {c["code"]: c["name"] for c in categories}
        return names

    async def overview(self, year: int | None = None) -> dict[str, Any]:
        """A year's figures and the filters' values (the publisher's overview)."""
        key = f"overview:{year}"
        return await self._keep(
            key, OVERVIEW_TTL_S, lambda: self._get("publisher", "/public/overview.json", year=year)
        )

    # ---- the notices --------------------------------------------------------------------------

    async def plans(self, **filters: Any) -> dict[str, Any]:
        """计划公告: a page of approved plans."""
        page: dict[str, Any] = await self._get("publisher", "/public/notices/plans.json", **filters)
        return page

    async def plan(self, plan_id: str) -> dict[str, Any] | None:
        """One approved plan, or None when the publisher has not seen it."""
        page = await self.plans(plan=plan_id, limit=1)
        return page["plans"][0] if page["plans"] else None

    async def tasks(self, **filters: Any) -> dict[str, Any]:
        """任务公告: a page of tasks."""
        page: dict[str, Any] = await self._get("publisher", "/public/notices/tasks.json", **filters)
        return page

    async def results(self, **filters: Any) -> dict[str, Any]:
        """结果公告: a page of published results."""
        page: dict[str, Any] = await self._get(
            "publisher", "/public/notices/results.json", **filters
        )
        return page

    # ---- companies ----------------------------------------------------------------------------

    async def companies(self, q: str, *, offset: int, limit: int) -> dict[str, Any]:
        """Entities with public records answering the search."""
        page: dict[str, Any] = await self._get(
            "publisher", "/public/companies.json", q=q, offset=offset, limit=limit
        )
        return page

    async def company(self, uscc: str) -> dict[str, Any]:
        """An entity's history; its name and region from the registry when it was never
        drawn (`registered` False when the registry does not know the code either)."""
        history: dict[str, Any] = await self._get("publisher", f"/public/companies/{uscc}.json")
        history["registered"] = True
        if history.get("entity_name") is None:
            try:
                detail = await self.backends.get("registry", f"/entities/{uscc}", caller=SELF)
            except (BackendError, NotFound) as exc:
                if getattr(exc, "status", 404) != 404:
                    raise
                history["registered"] = False
            else:
                entity = detail["entity"]
                # Only what the national disclosure system shows of any entity.
                history["entity_name"] = entity["name"]
                history["region_code"] = entity["region_code"]
                history["entity_type"] = entity.get("entity_type", "")
        return history

    # ---- draws --------------------------------------------------------------------------------

    async def draws(self) -> list[dict[str, Any]]:
        """Every draw with its state (the draw service's list)."""
        found: list[dict[str, Any]] = await self._get("draw", "/draws")
        return found

    async def draw(self, draw_id: str) -> dict[str, Any]:
        """A draw's ceremony state, its public record once seeded, else its commitment."""
        status: dict[str, Any] = await self._get("draw", f"/draws/{draw_id}")
        record: dict[str, Any] | None = None
        commitment: dict[str, Any] | None = None
        if status.get("seeded_at") or status["state"] in ("seeded", "selected", "completed"):
            record = await self._get("draw", f"/draws/{draw_id}/record")
        elif status.get("commitment_sha256"):
            commitment = await self._get("draw", f"/draws/{draw_id}/commitment")
        return {"status": status, "record": record, "commitment": commitment}

    async def draw_tasks(self, draw_id: str, *, offset: int, limit: int) -> list[dict[str, Any]]:
        """A page of a draw's tasks with their teams (names and departments), as the draw
        service publishes them."""
        rows: list[dict[str, Any]] = await self._get(
            "draw", f"/draws/{draw_id}/tasks", offset=offset, limit=limit
        )
        return rows

    async def record_bytes(self, draw_id: str) -> bytes:
        """The public record exactly as the draw service serves it."""
        try:
            response = await self.backends.request(
                "draw", "GET", f"/draws/{draw_id}/record", caller=None
            )
        except BackendError as exc:
            if exc.status in (404, 409):
                raise NotFound(exc.message, code=exc.code) from exc
            raise
        return response.content

    async def candidate_list(self, draw_id: str, stratum_id: str) -> AsyncIterator[bytes]:
        """One frozen candidate list, streamed byte for byte (`NotFound` before the first
        chunk when there is no such list)."""
        stream = await self.backends.open_stream(
            "draw", f"/draws/{draw_id}/candidates/{stratum_id}.txt"
        )
        if stream.status_code == 404:
            await stream.aclose()
            raise NotFound(f"no candidate list {stratum_id} in draw {draw_id}")
        if stream.status_code >= 400:
            await stream.aclose()
            raise BackendError(stream.status_code, {})

        async def chunks() -> AsyncIterator[bytes]:
            try:
                async for chunk in stream.aiter_bytes():
                    yield chunk
            finally:
                await stream.aclose()

        return chunks()
