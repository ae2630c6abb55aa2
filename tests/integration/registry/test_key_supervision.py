"""Key supervision keeps an entity out of its own items only (issue 11, defect 1), for real:
the planner's strata for the shipped rules, sized by the registry's `rpc.stats` and frozen by
its `rpc.freeze`, on real NATS and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from contracts import subjects
from contracts.planner import PlanSubmission
from contracts.registry import FreezeReply, FreezeRequest, StatsReply, StratumSpec
from services.planner.domain.counts import count_queries, stratum_counts
from services.planner.domain.resolve import plan_strata
from services.planner.domain.ruleset import load_ruleset
from services.planner.rulefiles import read_rule_dir
from services.registry.app import spec
from services.registry.domain.synthetic import entity_uscc

from .helpers import entity_csv, http_import

ROOT = Path(__file__).resolve().parents[3]

# name → (industry, key-supervision label); every one an active class-B 企业 of 昌江区
ENTITIES = {
    "food-producer": ("C1311", "食品生产"),  # under food-production key supervision
    "food-producer-unlisted": ("C1311", ""),
    "food-shop": ("F5211", "食品经营"),  # under another food list
    "kiln": ("C3071", "特种设备"),  # special equipment
    "shop": ("F5211", ""),
}


def _usccs() -> dict[str, str]:
    return {name: entity_uscc(91, "360202", i + 1) for i, name in enumerate(ENTITIES)}


def _csv(path: Path) -> Path:
    usccs = _usccs()
    return entity_csv(
        path,
        [
            {
                "uscc": usccs[name],
                "name": f"景德镇{name}有限公司",
                "industry_code": industry,
                "key_supervision": label,
            }
            for name, (industry, label) in ENTITIES.items()
        ],
    )


async def test_a_key_supervision_label_keeps_an_entity_out_of_its_own_items_only(
    run_service: Any, tmp_path: Path
) -> None:
    svc = await run_service(spec)
    got = await http_import(svc, "entities", _csv(tmp_path / "e.csv"))
    assert got["accepted"] == len(ENTITIES), got["rejects"]
    ruleset = load_ruleset(read_rule_dir(ROOT / "rules"))
    plan = PlanSubmission.model_validate(
        {
            "title": "2026年度抽查计划",
            "year": 2026,
            "departments": ["SCJG"],
            "scope": {"regions": ["360202"], "risk_classes": ["B"]},
            "period": {"start": "2026-04-01", "end": "2026-11-30"},
            "items": [
                {"item": "SCJG-001", "ratio": "3%"},  # 企业公示信息: on no key-supervision list
                {"item": "SCJG-008", "ratio": "3%"},  # 食品生产者: the food-production list
            ],
        }
    )
    planned = plan_strata(plan, ruleset, None)
    # The planner's n: the registry's stats for each scope.
    queries = count_queries(planned)
    answers = [
        (await svc.ctx.bus.request(subjects.rpc("registry", "stats"), q.request, StatsReply)).groups
        for q in queries
    ]
    counts = stratum_counts(queries, answers)
    # The draw's lists: the registry freezes each stratum with the planner's filter.
    reply = await svc.ctx.bus.request(
        subjects.rpc("registry", "freeze"),
        FreezeRequest(
            request_id="key-supervision",
            strata=[StratumSpec(stratum_id=p.fact.stratum_id, filter=p.filter) for p in planned],
        ),
        FreezeReply,
        timeout=60,
    )
    name_of = {u: name for name, u in _usccs().items()}
    lists = {}
    for s in reply.strata:
        r = await svc.http.get(f"/snapshots/{reply.snapshot_id}/strata/{s.stratum_id}.txt")
        lists[s.stratum_id] = {name_of[u] for u in r.text.split()}
        assert counts[s.stratum_id] == s.n
    # The food producer under key supervision is drawn for its annual report like anyone…
    assert lists["2026.SCJG-001.B.360202"] == set(ENTITIES)
    # …and leaves the base of the food-production item only; a food shop (another list's
    # label) is simply outside that item's industries.
    assert lists["2026.SCJG-008.B.360202"] == {"food-producer-unlisted"}
