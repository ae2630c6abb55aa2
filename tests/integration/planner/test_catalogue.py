"""The public item catalogue on the real planner (NATS + PostgreSQL): `GET /items` and
`GET /items/{code}` answer the active rule set's items with their checklists, without a token,
and follow an activation at once."""

from __future__ import annotations

from typing import Any

from contracts.common import Role
from contracts.planner import CatalogueItem, ItemCatalogue
from services.planner.app import spec
from services.planner.domain.ruleset import version_of

from .support import ROOT, shipped_text


async def test_items_are_public_with_their_checklists(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    shipped = shipped_text()

    r = await svc.http.get("/items")  # no token: the 抽查事项清单 is public
    assert r.status_code == 200, r.text
    body = r.json()
    cat = ItemCatalogue.model_validate(body)
    assert cat.rules_version == version_of({p: t.encode() for p, t in shipped.items()})
    assert len(cat.items) == 14 and all(3 <= len(i.checklist) <= 8 for i in cat.items)
    first = body["items"][0]
    assert first["code"] == "SCJG-001"
    assert first["department"] == {"code": "SCJG", "name": "昌江区市场监督管理局"}
    assert first["kind"] == "general" and first["methods"] == ["documents", "online", "on_site"]
    assert first["applies_to"] == {"entity_types": ["企业"], "industries": [], "tags": []}
    assert first["checklist"][0] == {
        "id": "Q1",
        "question": "是否于每年1月1日至6月30日报送并公示上一年度年度报告",
        "basis": "《企业信息公示暂行条例》第八条",
        "expects": "yes",
    }
    assert first["checklist"][-1]["expects"] == "no"
    assert (first["key_supervision"], first["key_supervision_labels"]) == (False, [])

    sw = (await svc.http.get("/items", params={"department": "SW"})).json()["items"]
    assert [i["code"] for i in sw] == ["SW-001", "SW-002"]
    r = await svc.http.get("/items", params={"department": "SCJG", "kind": "priority"})
    assert [i["code"] for i in r.json()["items"]] == [
        "SCJG-003",
        "SCJG-004",
        "SCJG-008",
        "SCJG-009",
    ]
    assert (await svc.http.get("/items", params={"department": "NOPE"})).json()["items"] == []
    r = await svc.http.get("/items", params={"kind": "urgent"})
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid"

    r = await svc.http.get("/items/SCJG-008")
    assert r.status_code == 200, r.text
    food = CatalogueItem.model_validate(r.json())
    assert food == next(i for i in cat.items if i.code == "SCJG-008")
    assert (food.key_supervision, food.key_supervision_labels) == (True, ["食品生产"])

    r = await svc.http.get("/items/NOPE")
    assert r.status_code == 404
    error = r.json()["error"]
    assert error["code"] == "not_found" and "no item 'NOPE'" in error["message"]
    assert error["details"][0]["msg_zh"].startswith("现行检查事项清单")
    assert "NOPE" in error["details"][0]["msg_zh"]

    # Policy staff edit a question and activate: the next read answers the new version.
    edited = dict(shipped)
    edited["items-sw.yaml"] = edited["items-sw.yaml"].replace(
        "是否按规定开具发票", "是否按规定开具发票（含电子发票）"
    )
    r = await svc.http.post(
        "/rules/activate", json={"files": edited}, headers=svc.auth(Role.POLICY)
    )
    assert r.status_code == 200, r.text
    new = r.json()["version"]
    item = (await svc.http.get("/items/SW-002")).json()
    assert item["checklist"][0]["question"].endswith("（含电子发票）")
    assert (await svc.http.get("/items")).json()["rules_version"] == new
