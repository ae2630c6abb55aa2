"""What the officers' console asks the planner (#13): the list of plans (a planner sees their
own department's), refusals in Chinese next to their fields, a stored version's files, and
candidate rule sets kept across requests with their check (file and line) and test results."""

from __future__ import annotations

from typing import Any

from contracts.common import Role
from services.planner.app import spec

from .support import ROOT, StatsDouble, shipped_text, with_cap
from .test_planner_service import plan_body


async def test_plans_are_listed_per_department(run_service: Any, stats_double: StatsDouble) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    scjg, sw = svc.auth(Role.PLANNER, "SCJG"), svc.auth(Role.PLANNER, "SW")
    r = await svc.http.post("/plans", json=plan_body("P-JOINT"), headers=scjg)
    assert r.status_code == 201, r.text
    alone = plan_body(
        "P-SCJG",
        departments=["SCJG"],
        lead_department=None,
        items=[{"item": "SCJG-002", "ratio": "3%"}],
        filed_on="2026-03-05",
    )
    assert (await svc.http.post("/plans", json=alone, headers=scjg)).status_code == 201
    bad = plan_body(
        "P-BAD",
        items=[{"item": "NOPE", "ratio": "3%"}, {"item": "SW-001"}],
        period={"start": "2026-05-01", "end": "2026-04-01"},
    )
    r = await svc.http.post("/plans", json=bad, headers=scjg)
    assert r.status_code == 422
    zh = {d["loc"]: d["msg_zh"] for d in r.json()["error"]["details"]}
    assert zh == {
        "items[0].item": "事项“NOPE”不在检查事项清单中",
        "items[1]": "抽查比例和抽取户数须填写且只填写一项",
        "period.end": "结束日期（2026-04-01）早于开始日期",
    }

    everything = (await svc.http.get("/plans", headers=svc.auth(Role.DRAW_OFFICER))).json()
    assert {p["plan_id"] for p in everything} == {"P-JOINT", "P-SCJG", "P-BAD"}
    joint = next(p for p in everything if p["plan_id"] == "P-JOINT")
    assert joint["title"] == "2026年度联合抽查计划" and joint["status"] == "approved"
    assert (joint["departments"], joint["lead_department"]) == (["SCJG", "SW"], "SCJG")
    assert joint["joint"] is True and joint["joint_share_bp"] == 10000
    assert joint["strata"] > 0 and joint["flags"] == []
    assert joint["filed_on"] == "2026-02-20" and joint["submitted_by"]
    late = next(p for p in everything if p["plan_id"] == "P-SCJG")
    assert late["flags"] == ["filed_late"] and late["joint"] is False
    rejected = next(p for p in everything if p["plan_id"] == "P-BAD")
    assert rejected["status"] == "rejected" and rejected["reasons"] == 3

    # A planner of SW sees the plans SW takes part in, whatever department they ask for.
    mine = (await svc.http.get("/plans?department=SCJG", headers=sw)).json()
    assert {p["plan_id"] for p in mine} == {"P-JOINT", "P-BAD"}
    approved = await svc.http.get("/plans?status=approved&year=2026", headers=scjg)
    assert {p["plan_id"] for p in approved.json()} == {"P-JOINT", "P-SCJG"}
    assert (await svc.http.get("/plans?year=2025", headers=scjg)).json() == []
    huge = await svc.http.get("/plans?year=55623878622508769718829056", headers=scjg)
    assert huge.status_code == 422 and huge.json()["error"]["details"][0]["loc"] == [
        "query",
        "year",
    ]
    assert (
        await svc.http.get("/plans", headers=svc.auth(Role.INSPECTOR, "SCJG"))
    ).status_code == 403


async def test_candidates_are_kept_checked_and_tested(run_service: Any) -> None:
    svc = await run_service(spec, rules_dir=ROOT / "rules")
    policy = svc.auth(Role.POLICY)
    shipped = shipped_text()
    active = (await svc.http.get("/rules/active", headers=policy)).json()["version"]
    stored = (await svc.http.get(f"/rules/versions/{active}", headers=policy)).json()
    assert stored["version"] == active
    assert stored["files"] == shipped  # the folder as activated, its tests too
    assert (await svc.http.get("/rules/versions/nope", headers=policy)).status_code == 404

    # A changed cap: kept, checked, its tests run (the shipped cases expect 5%: some fail).
    r = await svc.http.post(
        "/rules/candidates",
        json={"files": with_cap(shipped, "4%"), "based_on": active, "note": "上限改为4%"},
        headers=policy,
    )
    assert r.status_code == 201, r.text
    cid = r.json()["candidate_id"]
    again = await svc.http.post(
        "/rules/candidates", json={"files": with_cap(shipped, "4%")}, headers=policy
    )
    assert again.json()["candidate_id"] == cid  # the same files are one candidate
    got = (await svc.http.get(f"/rules/candidates/{cid}", headers=policy)).json()
    assert got["files"] == with_cap(shipped, "4%") and got["note"] == "上限改为4%"
    assert got["based_on"] == active and got["uploaded_by"]
    assert got["check"]["ok"] is True and got["check"]["errors"] == []
    assert got["check"]["version"] != active
    tests = got["tests"]
    assert tests["passed"] + tests["failed"] == len(tests["results"]) > 0
    assert tests["failed"] >= 1 and tests["errors"] == []
    failing = next(t for t in tests["results"] if not t["ok"])
    assert failing["file"].startswith("tests/") and failing["line"] > 0 and failing["failures"]
    # Each failure also in Chinese, in the same order (the console shows these).
    assert len(failing["failures_zh"]) == len(failing["failures"])
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in f) for f in failing["failures_zh"])

    # A broken file: kept all the same, its errors name file and line; no tests are run.
    broken = dict(shipped)
    broken["ratios.yaml"] = broken["ratios.yaml"].replace("cap_ratio:", "cap_ratoi:")
    cid2 = (
        await svc.http.post("/rules/candidates", json={"files": broken}, headers=policy)
    ).json()["candidate_id"]
    got = (await svc.http.get(f"/rules/candidates/{cid2}", headers=policy)).json()
    assert got["check"]["ok"] is False and got["tests"] is None
    assert all(e["file"] == "ratios.yaml" and e["line"] > 1 for e in got["check"]["errors"])
    # The English reason for the API, the Chinese one beside it for the console.
    typo = next(e for e in got["check"]["errors"] if "cap_ratoi" in e["reason"])
    assert "Extra inputs are not permitted" in typo["reason"]
    assert typo["reason_zh"].startswith("不认识的字段 rules.") and "cap_ratoi" in typo["reason_zh"]
    listed = (await svc.http.get("/rules/candidates", headers=policy)).json()
    assert [c["candidate_id"] for c in listed] == [cid2, cid]
    assert listed[1]["files"] == len(shipped)

    # Still the same active set; nobody but policy staff handles candidates.
    assert (await svc.http.get("/rules/active", headers=policy)).json()["version"] == active
    planner = svc.auth(Role.PLANNER, "SCJG")
    assert (await svc.http.get("/rules/candidates", headers=planner)).status_code == 403
    r = await svc.http.post("/rules/candidates", json={"files": shipped}, headers=planner)
    assert r.status_code == 403
    r = await svc.http.post("/rules/candidates", json={"files": {"../x.yaml": "a"}}, headers=policy)
    assert r.status_code == 422
