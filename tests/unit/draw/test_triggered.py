"""Triggered inspections (触发检查), the pure rules: an opening needs a trigger, evidence, items
of the catalogue and another approving officer; the team is drawn by the draw's rules with the
committed seed and anyone re-derives it from the seed and the eligible list."""

from __future__ import annotations

import random
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from contracts.draw import TaskAssigned
from contracts.planner import ItemsReply, PlanItem
from contracts.registry import EntityRecord, InspectorRecord
from contracts.triggered import TRIGGER_LABELS, Trigger, TriggeredOpen, TriggeredState
from services.draw.domain import teams, triggered
from services.kit.errors import Conflict, Forbidden, Invalid, NotFound

USCC = "91360202MA35000010"
SEED = "ab" * 32
ITEM_A = PlanItem(code="SCJG-001", name="公示", department="SCJG", kind="general", expertise=["x"])
ITEM_B = PlanItem(code="SW-001", name="税务", department="SW", kind="general", methods=["on_site"])


def _req(**over: Any) -> TriggeredOpen:
    body: dict[str, Any] = {
        "uscc": USCC,
        "trigger": "complaint",
        "evidence_ref": "TS-2026-0012",
        "items": ["SCJG-001"],
        "department": "SCJG",
        "period_start": "2026-07-01",
        "period_end": "2026-07-31",
        "approver": "officer.wang",
    }
    body.update(over)
    return TriggeredOpen.model_validate(body)


def _entity(**over: Any) -> EntityRecord:
    base: dict[str, Any] = {
        "uscc": USCC,
        "name": "某某饭店",
        "entity_type": "企业",
        "region_code": "360202",
        "industry_code": "H62",
        "risk_class": "A",
    }
    base.update(over)
    return EntityRecord.model_validate(base)


def _catalogue(*items: PlanItem, unknown: tuple[str, ...] = ()) -> ItemsReply:
    return ItemsReply(rules_version="r" * 64, items=list(items), unknown=list(unknown))


def _check(req: TriggeredOpen, **over: Any) -> triggered.Checked:
    kw: dict[str, Any] = {
        "opened_by": "officer.li",
        "entity": _entity(),
        "catalogue": _catalogue(ITEM_A),
    }
    kw.update(over)
    return triggered.check_opening(req, **kw)


def test_an_opening_within_the_rules_gives_its_items_departments_and_methods() -> None:
    c = _check(
        _req(items=["SCJG-001", "SW-001"], department="SW"),
        catalogue=_catalogue(ITEM_A, ITEM_B),
    )
    assert [i.code for i in c.items] == ["SCJG-001", "SW-001"]
    assert c.departments == ("SCJG", "SW") and c.lead_department == "SW"
    assert c.methods == ("on_site",)


@pytest.mark.parametrize("missing", ["trigger", "evidence_ref", "items", "approver"])
def test_no_opening_without_a_trigger_evidence_items_or_approver(missing: str) -> None:
    body = _req().model_dump(mode="json")
    del body[missing]
    with pytest.raises(ValidationError) as e:
        TriggeredOpen.model_validate(body)
    assert e.value.errors()[0]["loc"] == (missing,)


def test_a_trigger_is_one_of_the_six_each_with_its_label() -> None:
    with pytest.raises(ValidationError):
        _req(trigger="routine")
    assert {t.value for t in Trigger} == set(TRIGGER_LABELS)
    assert TRIGGER_LABELS[Trigger.COMPLAINT] == "投诉举报"
    # the re-check of an order to correct (复查) is a triggered check naming the result
    recheck = _check(_req(trigger="recheck", evidence_ref="R-D-1:91360202MA35000010 v1"))
    assert [i.code for i in recheck.items] == ["SCJG-001"]
    assert TRIGGER_LABELS[Trigger.RECHECK] == "责令整改复查"


def test_blank_evidence_is_refused_naming_the_field() -> None:
    with pytest.raises(Invalid) as e:
        _check(_req(evidence_ref="   "))
    assert e.value.code == "evidence_required"
    assert e.value.details[0]["loc"] == ["body", "evidence_ref"]


def test_an_item_outside_the_catalogue_is_refused_naming_it() -> None:
    """清单之外无检查: an unknown item is refused, with its position in `items`."""
    with pytest.raises(Invalid) as e:
        _check(
            _req(items=["SCJG-001", "XX-999"]),
            catalogue=_catalogue(ITEM_A, unknown=("XX-999",)),
        )
    assert e.value.code == "item_not_in_catalogue"
    assert e.value.details[0]["loc"] == ["body", "items", 1]
    assert "XX-999" in e.value.details[0]["msg_zh"]


def test_the_opener_cannot_approve_his_own_opening() -> None:
    with pytest.raises(Invalid) as e:
        _check(_req(approver="officer.li"))
    assert e.value.code == "second_officer_required"
    assert e.value.details[0]["loc"] == ["body", "approver"]


def test_the_lead_department_must_have_one_of_the_items() -> None:
    with pytest.raises(Invalid) as e:
        _check(_req(department="SW"))
    assert e.value.code == "department_mismatch"


def test_the_entity_must_exist_and_operate() -> None:
    with pytest.raises(NotFound):
        _check(_req(), entity=None)
    with pytest.raises(Invalid) as e:
        _check(_req(), entity=_entity(status="注销"))
    assert e.value.code == "entity_not_active"


def test_the_period_must_not_end_before_it_starts() -> None:
    with pytest.raises(Invalid) as e:
        _check(_req(period_start="2026-08-01", period_end="2026-07-01"))
    assert e.value.details[0]["loc"] == ["body", "period_end"]


def test_only_the_named_approver_approves_once() -> None:
    awaiting = TriggeredState.AWAITING_APPROVAL
    with pytest.raises(Forbidden):
        triggered.check_approval(awaiting, approver="officer.wang", by="officer.zhao")
    triggered.check_approval(awaiting, approver="officer.wang", by="officer.wang")
    with pytest.raises(Conflict):
        triggered.check_approval(
            TriggeredState.ASSIGNED, approver="officer.wang", by="officer.wang"
        )


def test_the_commitment_is_the_sha256_of_the_nonce() -> None:
    assert triggered.nonce_commitment("abc") == (
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    )


def _person(iid: str, dept: str, **over: Any) -> InspectorRecord:
    base: dict[str, Any] = {
        "inspector_id": iid,
        "name": f"检查员{iid}",
        "department": dept,
        "region_codes": ["360202"],
        "certificate_no": "c",
        "certificate_expiry": date(2030, 1, 1),
        "expertise": ["x"],
    }
    base.update(over)
    return InspectorRecord.model_validate(base)


def _draw(roster: list[InspectorRecord], **over: Any) -> triggered.Drawn:
    kw: dict[str, Any] = {
        "seed": SEED,
        "task_id": "TT-1",
        "uscc": USCC,
        "region_code": "360202",
        "items": [ITEM_A],
        "departments": ["SCJG"],
        "check_date": date(2026, 7, 31),
        "roster": roster,
        "loads": {},
        "last": frozenset(),
    }
    kw.update(over)
    return triggered.draw_team(**kw)


def test_the_team_keeps_every_hard_constraint_and_lists_who_was_eligible() -> None:
    roster = [
        _person("I1", "SCJG"),
        _person("I2", "SCJG"),
        _person("I3", "SCJG", recusal_usccs=[USCC]),  # recused
        _person("I4", "SCJG", expertise=[]),  # lacks the item's expertise
        _person("I5", "SCJG", region_codes=["360203"]),  # another region
        _person("I6", "SCJG"),  # checked the entity last time
        _person("I7", "SCJG", capacity=1),  # full
        _person("I8", "SW"),  # another department
    ]
    d = _draw(roster, last=frozenset({"I6"}), loads={"I7": 1})
    assert d.eligible == (("I1", "SCJG"), ("I2", "SCJG"))
    assert sorted(d.team) == ["I1", "I2"] and d.unstaffed_reason is None


def test_too_few_eligible_inspectors_leave_the_task_unstaffed_with_the_reason() -> None:
    d = _draw([_person("I1", "SCJG"), _person("I2", "SCJG", status="retired")])
    assert d.team == () and d.unstaffed_reason is not None
    assert d.unstaffed_reason.startswith("active:")


def test_the_team_is_seeded_and_re_derivable_from_seed_and_eligible_list() -> None:
    """The team comes from the seed (another seed, another team on a large pool) and anyone
    re-derives it from the published seed and eligible list without teams.py's indexes."""
    rng = random.Random(7)
    for trial in range(40):
        roster = [
            _person(
                f"P{n:03d}",
                rng.choice(["SCJG", "SW"]),
                expertise=rng.choice([["x"], []]),
                capacity=rng.choice([1, 5]),
                recusal_usccs=[USCC] if rng.random() < 0.1 else [],
            )
            for n in range(rng.randint(3, 40))
        ]
        loads = {p.inspector_id: rng.randint(0, 1) for p in roster}
        seed = f"{trial:064x}"
        depts = rng.choice([["SCJG"], ["SCJG", "SW"]])
        items = [ITEM_A, ITEM_B] if len(depts) == 2 else [ITEM_A]
        d = _draw(roster, seed=seed, loads=loads, items=items, departments=depts)
        again = triggered.rederive_team(seed, "TT-1", depts, d.eligible)
        assert again == d.team, trial
        assert d.team == _draw(roster, seed=seed, loads=loads, items=items, departments=depts).team
    pool = [_person(f"P{n:02d}", "SCJG") for n in range(30)]
    teams_by_seed = {_draw(pool, seed=f"{s:064x}").team for s in range(10)}
    assert len(teams_by_seed) > 1
    first = _draw(pool).team
    tickets = sorted(pool, key=lambda p: teams.team_ticket(SEED, "TT-1", p.inspector_id))
    assert set(first) == {p.inspector_id for p in tickets[:2]}


def test_the_task_body_is_a_triggered_task_assigned_of_no_draw_and_no_plan() -> None:
    roster = {"I1": _person("I1", "SCJG"), "I2": _person("I2", "SCJG")}
    body = triggered.task_body(
        task_id="TT-1",
        entity=_entity(),
        trigger="complaint",
        items=[ITEM_A],
        departments=["SCJG"],
        lead_department="SCJG",
        methods=["on_site"],
        period_start=date(2026, 7, 1),
        period_end=date(2026, 7, 31),
        team=["I2", "I1"],
        roster=roster,
        unstaffed_reason=None,
    )
    t = TaskAssigned.model_validate(body)
    assert (t.kind, t.trigger, t.draw_id, t.plan_id) == ("triggered", "complaint", "", "")
    assert [m.inspector_id for m in t.team] == ["I2", "I1"]
    assert t.entity_name == "某某饭店" and t.methods == ["on_site"]
    assert (t.industry_code, t.risk_class) == ("H62", "A")
