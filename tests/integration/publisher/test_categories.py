"""The national result categories, public, as the phone's result form offers them."""

from __future__ import annotations

from typing import Any

from services.publisher.app import spec
from services.publisher.domain.categories import load_categories


async def test_result_categories_are_public_and_complete(run_service: Any) -> None:
    svc = await run_service(spec)
    r = await svc.http.get("/public/result-categories.json")
    assert r.status_code == 200
    body = r.json()
    table = load_categories()
    assert body["version"] == table.version
    assert [c["code"] for c in body["categories"]] == [c.code for c in table.all()]
    first = body["categories"][0]
    assert first == {"code": "1", "name": "未发现问题", "parent": None, "violation": False}
    assert {c["code"] for c in body["categories"] if c["violation"]} >= {"2", "A", "E", "8"}
