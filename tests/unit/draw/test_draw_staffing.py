"""Staffing rows without per-task pydantic models: bodies are exactly `TaskAssigned`."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, date, datetime

from contracts.draw import TaskAssigned
from contracts.planner import PlanApproved, PlanItem, ResolvedStratum
from contracts.registry import EntityFilter, EntityRecord, InspectorRecord
from services.draw.domain import staffing
from services.draw.domain.tasks import StratumSelection, build_tasks

SEED = "31415926535897932384626"
U = [f"91360202MA35000{i:02d}X" for i in range(4)]


def _plan() -> PlanApproved:
    return PlanApproved(
        plan_id="P1",
        year=2026,
        title="计划",
        departments=["SCJG", "SW"],
        lead_department="SW",
        rules_version="r" * 64,
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
        items=[
            PlanItem(code="A", name="营业执照", department="SCJG", kind="g", expertise=["g"]),
            PlanItem(code="B", name="税务\n“登记”", department="SW", kind="g", expertise=["t"]),
        ],
        strata=[
            ResolvedStratum(
                stratum_id="S.A",
                item_codes=["A"],
                departments=["SCJG"],
                filter=EntityFilter(),
                bp=100,
            )
        ],
        approved_at=datetime(2026, 6, 1, tzinfo=UTC),
    )


def _person(iid: str, dept: str, expertise: str) -> InspectorRecord:
    return InspectorRecord(
        inspector_id=iid,
        name=f"检查员{iid}",
        department=dept,
        region_codes=["360202"],
        certificate_no="c",
        certificate_expiry=date(2030, 1, 1),
        expertise=[expertise],
    )


def test_bodies_and_events_are_exactly_the_contract() -> None:
    drafts = build_tasks(
        draw_id="D1",
        plan_id="P1",
        selections=[
            StratumSelection("S.A", (("01", U[0]), ("02", U[1]), ("03", U[2])), ("A",), ("SCJG",)),
            StratumSelection("S.B", (("04", U[1]),), ("B",), ("SW",), ("on-site",)),
        ],
        period_start=date(2026, 7, 1),
        period_end=date(2026, 9, 30),
    )
    drafts[0] = replace(drafts[0], merged_from=("D0:" + U[0],))
    entities = {
        u: EntityRecord(
            uscc=u,
            name=f"企业{u[-3:]}",
            entity_type="c",
            region_code="360202",
            industry_code=industry,
            risk_class=risk,
        )
        # U[2] is no longer known: its region comes from its USCC, industry and class are null
        for u, industry, risk in ((U[0], "F5211", "B"), (U[1], "H6210", None))
    }
    roster = [_person("A1", "SCJG", "g"), _person("A2", "SCJG", "g"), _person("W1", "SW", "t")]
    out = staffing.staff(
        seed=SEED,
        draw_id="D1",
        plan=_plan(),
        drafts=drafts,
        entities=entities,
        roster=roster,
        loads={},
        last={U[2]: frozenset({"A1"})},
        foreign={},
    )
    assert len(out.rows) == len(out.events) == 3 and out.unstaffed == 1
    for row, (event_id, subject, text) in zip(out.rows, out.events, strict=True):
        model = TaskAssigned.model_validate_json(text)
        assert json.loads(text) == model.model_dump(mode="json")
        assert text == model.model_dump_json()  # byte for byte what pydantic would publish
        assert row[8] == text and event_id == f"task.assigned:{model.task_id}"  # envelope.event_id
        assert subject == "spotcheck.v1.draw.task.assigned"
    by_uscc = {
        TaskAssigned.model_validate_json(t).uscc: TaskAssigned.model_validate_json(t)
        for _, _, t in out.events
    }
    joint = by_uscc[U[1]]
    assert joint.joint and joint.departments == ["SCJG", "SW"] and joint.lead_department == "SW"
    assert {m.department for m in joint.team} == {"SCJG", "SW"}
    assert [i.code for i in joint.items] == ["A", "B"] and joint.methods == ["on-site"]
    assert by_uscc[U[0]].merged_from == ["D0:" + U[0]]
    assert by_uscc[U[0]].entity_name.startswith("企业")
    # The entity's industry and risk class as the registry holds them, for the statistics.
    assert (by_uscc[U[0]].industry_code, by_uscc[U[0]].risk_class) == ("F5211", "B")
    assert (joint.industry_code, joint.risk_class) == ("H6210", None)
    lost = by_uscc[U[2]]
    assert lost.entity_name == "" and lost.region_code == "360202" and lost.team == []
    assert lost.industry_code is None and lost.risk_class is None
    assert lost.unstaffed_reason is not None and lost.unstaffed_reason.startswith("last_inspector")
    assert {m for _, m in out.members} <= {"A1", "A2", "W1"}
    assert out.rows[0][9] == {"A": ["g"]}
