"""The `spotcheck rules …` and `spotcheck plan …` commands against a planner served over HTTP.

The planner runs in-process on the test's real NATS and PostgreSQL (`run_service`) and is
served by uvicorn on a free port; the CLI finds it through SPOTCHECK_PLANNER_URL and signs its
tokens with the service's key (SPOTCHECK_VAR_DIR). CliRunner blocks, so it runs in a thread
while the event loop serves the requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner, Result

from contracts.common import Role
from services.planner.app import spec
from spotcheck.cli import app as cli
from spotcheck.embedded import free_port

from .support import ROOT, SIM_PLAN, StatsDouble

PLANS = ROOT / "rules" / "plans"


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers (the test process keeps its own)."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


@pytest.fixture
async def served(
    run_service: Any, stats_double: StatsDouble
) -> AsyncIterator[tuple[Any, dict[str, str | None]]]:
    """The planner over real HTTP (the registry's stats answered by `stats_double`), and the
    environment that points the CLI at it."""
    svc = await run_service(spec, rules_dir=ROOT / "rules", rpc_timeout_s=2.0)
    port = free_port()
    server = _Server(
        uvicorn.Config(svc.ctx.app, host="127.0.0.1", port=port, log_config=None, lifespan="off")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            break
        await asyncio.sleep(0.02)
    assert server.started, "uvicorn did not start"
    env: dict[str, str | None] = {
        "SPOTCHECK_PLANNER_URL": f"http://127.0.0.1:{port}",
        "SPOTCHECK_VAR_DIR": str(svc.ctx.settings.var_dir),
        "SPOTCHECK_TOKEN": None,
    }
    yield svc, env
    server.should_exit = True
    await asyncio.wait_for(task, timeout=10)


async def run(env: dict[str, str | None], *args: str) -> Result:
    """`spotcheck ARGS…` in a worker thread."""
    runner = CliRunner()
    return await asyncio.to_thread(lambda: runner.invoke(cli, list(args), env=env))


def table_row(output: str, stratum_id: str) -> list[str]:
    """The cells of the first line of a stratum's row in `plan show`'s table."""
    line = next(x for x in output.splitlines() if f" {stratum_id} " in x)
    return [cell.strip() for cell in line.split("│")[1:-1]]


def capped_copy(tmp_path: Path, cap: str) -> Path:
    """A copy of the shipped rules with another general-item cap."""
    target = tmp_path / f"rules-{cap.rstrip('%')}"
    shutil.copytree(ROOT / "rules", target)
    ratios = target / "ratios.yaml"
    text = ratios.read_text(encoding="utf-8")
    ratios.write_text(text.replace('cap_ratio: "5%"', f'cap_ratio: "{cap}"'), encoding="utf-8")
    return target


async def test_sample_plans_submit_and_show(served: Any) -> None:
    svc, env = served
    expected = {
        "2026-scjg-general.yaml": "P2026-SCJG-GEN",
        "2026-scjg-products.yaml": "P2026-SCJG-PQ",
        "2026-joint.yaml": "P2026-JOINT",
    }
    assert sorted(p.name for p in PLANS.glob("*.yaml")) == sorted(expected)
    r = await run(env, "plan", "submit", str(PLANS / "2026-joint.yaml"))
    assert r.exit_code == 1 and "give --dept" in r.stderr  # a planner acts for a department
    for name, plan_id in expected.items():
        r = await run(env, "plan", "submit", str(PLANS / name), "--dept", "SCJG")
        assert r.exit_code == 0, r.output + r.stderr
        assert r.stdout.startswith(f"{plan_id} approved: ")
        assert "flags" not in r.stdout  # filed and entered on time
    r = await run(env, "plan", "submit", str(PLANS / "2026-joint.yaml"), "--dept", "SW")
    assert r.exit_code == 1 and "already exists" in r.stderr

    r = await run(env, "plan", "show", "P2026-JOINT", "--json")
    assert r.exit_code == 0, r.stderr
    event = json.loads(r.stdout)
    assert event["plan_id"] == "P2026-JOINT" and event["joint"]
    assert event["departments"] == ["SCJG", "SW", "STHJ"]
    groups = {s["joint_group"] for s in event["strata"] if s["joint_group"]}
    assert groups == {"qyxx-sw", "gy-hj"} and event["joint_share_bp"] == 10000
    gy = next(s for s in event["strata"] if s["stratum_id"] == "2026.gy-hj.C.360202")
    assert gy["item_codes"] == ["SCJG-003", "STHJ-003"] and gy["filter"]["entity_types"] == ["企业"]
    stored = (
        await svc.http.get("/plans/P2026-JOINT", headers=svc.auth(Role.PLANNER, "STHJ"))
    ).json()
    assert event == stored["approved"]

    r = await run(env, "plan", "show", "P2026-SCJG-PQ")
    assert r.exit_code == 0, r.stderr
    for text in ("P2026-SCJG-PQ", "2026.SCJG-004.D.360202", "2026.SCJG-007.B.360202", "30 户 ≤5%"):
        assert text in r.stdout
    # n and k per stratum beside the ratio or count (n from the registry's stats).
    assert table_row(r.stdout, "2026.SCJG-007.C.360202")[:5] == [
        "2026.SCJG-007.C.360202", "SCJG-007", "500", "25 户 ≤5%", "25"
    ]  # fmt: skip
    assert table_row(r.stdout, "2026.SCJG-004.D.360202")[:5] == [
        "2026.SCJG-004.D.360202", "SCJG-004", "100", "60%", "60"
    ]  # fmt: skip
    assert "total k 350 " in r.stdout  # 20+80+100+60 (SCJG-004) + 30+30+25+5 (SCJG-007)
    r = await run(env, "plan", "show", "P2026-SCJG-PQ", "--json")
    counted = [s for s in json.loads(r.stdout)["strata"] if s["item_codes"] == ["SCJG-007"]]
    # A planned count of 30 is held to the 5% cap of each stratum's n: ⌈500×5%⌉ = 25, ⌈100×5%⌉
    # = 5; the cap still travels with the stratum for the draw's frozen n.
    assert [(s["count"], s["count_cap_bp"], s["n_estimate"], s["k_estimate"]) for s in counted] == [
        (30, 500, 1000, 30), (30, 500, 2000, 30), (25, 500, 500, 25), (5, 500, 100, 5)
    ]  # fmt: skip
    r = await run(env, "plan", "show", "P-NONE")
    assert r.exit_code == 1 and "no plan P-NONE" in r.stderr


async def test_a_refused_plan_prints_every_reason(served: Any, tmp_path: Path) -> None:
    _, env = served
    bad = (PLANS / "2026-scjg-general.yaml").read_text(encoding="utf-8")
    bad = bad.replace("SCJG-005", "SCJG-999").replace("P2026-SCJG-GEN", "P-BAD")
    bad = bad.replace("end: 2026-10-31", "end: 2027-01-31")
    (tmp_path / "bad.yaml").write_text(bad, encoding="utf-8")
    r = await run(env, "plan", "submit", str(tmp_path / "bad.yaml"), "--dept", "SCJG")
    assert r.exit_code == 1
    assert "items[1].item: item 'SCJG-999' is not in the catalogue" in r.stderr
    assert "period: period 2026-04-01–2027-01-31 is not within 2026" in r.stderr
    r = await run(env, "plan", "show", "P-BAD")
    assert r.exit_code == 1 and "P-BAD rejected" in r.stdout and "SCJG-999" in r.stdout
    r = await run(env, "plan", "show", "P-BAD", "--dept", "SCJG")
    assert r.exit_code == 1 and "P-BAD rejected" in r.stdout
    # A rejected plan is its department's working paper: not for a planner of another.
    r = await run(env, "plan", "show", "P-BAD", "--dept", "SW")
    assert r.exit_code == 1 and "plan P-BAD is rejected, not approved" in r.stderr


async def test_rules_activate_and_simulate(
    served: Any,
    stats_double: StatsDouble,
    tmp_path: Path,
) -> None:
    svc, env = served
    shipped = (await svc.http.get("/rules/active", headers=svc.auth(Role.POLICY))).json()["version"]

    r = await run(env, "rules", "activate", str(capped_copy(tmp_path, "105%")))
    assert r.exit_code == 1
    assert "ratios.yaml:" in r.stderr and "[general-cap" in r.stderr
    assert "outside (0, 100%]" in r.stderr
    assert "    抽查比例上限 cap_ratio 为 105%，应大于 0% 且不超过 100%" in r.stderr  # under it

    plan = tmp_path / "plan.yaml"
    plan.write_text(json.dumps(SIM_PLAN, ensure_ascii=False), encoding="utf-8")  # JSON is YAML
    candidate = capped_copy(tmp_path, "3%")
    r = await run(env, "rules", "simulate", "--plan", str(plan), "--rules", str(candidate))
    assert r.exit_code == 0, r.stderr
    assert "2026.SW-001.D.360202" in r.stdout and "-10" in r.stdout
    assert "total k: active 92, candidate 79" in r.stdout
    r = await run(
        env, "rules", "simulate", "--plan", str(plan), "--rules", str(candidate), "--json"
    )
    sim = json.loads(r.stdout)
    assert sim["active_version"] == shipped
    row = next(s for s in sim["strata"] if s["stratum_id"] == "2026.SW-001.C.360202")
    assert (row["n"], row["active_k"], row["candidate_k"], row["delta_k"]) == (500, 25, 15, -10)

    r = await run(env, "rules", "activate", str(candidate), "--json")
    assert r.exit_code == 0, r.stderr
    activated = json.loads(r.stdout)
    assert (
        activated["previous_version"] == shipped
        and activated["version"] == sim["candidate_version"]
    )
    r = await run(env, "rules", "activate", str(ROOT / "rules"))
    assert r.exit_code == 0 and r.stdout.strip() == (
        f"active: {shipped} (previous {activated['version']})"
    )
    history = (await svc.http.get("/rules/history", headers=svc.auth(Role.POLICY))).json()
    assert [h["version"] for h in history] == [shipped, activated["version"], shipped]


async def test_token_refuses_a_planner_or_inspector_without_department(served: Any) -> None:
    _, env = served
    for role in ("planner", "inspector"):
        r = await run(env, "token", "--role", role)
        assert r.exit_code == 2 and "must name a department: give --dept" in r.stderr
        assert r.stdout == ""
    r = await run(env, "token", "--role", "planner", "--dept", "SCJG")
    assert r.exit_code == 0 and r.stdout.count(".") == 2  # a JWT


async def test_import_catalogue(served: Any, tmp_path: Path) -> None:
    from tests.catalogue_exports import as_csv, changed_export

    svc, env = served
    rows = changed_export()
    bad = tmp_path / "bad.csv"
    broken = [list(r) for r in rows]
    broken[2][1] = ""
    bad.write_bytes(as_csv(broken).encode("gb18030"))
    r = await run(env, "rules", "import-catalogue", str(bad))
    assert r.exit_code == 1
    assert "bad.csv:4: 事项名称: empty" in r.stderr and "事项名称为空" in r.stderr
    assert await svc.ctx.db.pool.fetchval("SELECT count(*) FROM rule_candidates") == 0

    good = tmp_path / "事项清单.csv"
    good.write_bytes(as_csv(rows).encode("gb18030"))
    r = await run(env, "rules", "import-catalogue", str(good))
    assert r.exit_code == 0, r.stderr
    assert "+ SCJG-101 价格行为的检查 (SCJG) → items-scjg.yaml" in r.stdout
    assert "~ SCJG-002 name: 市场主体登记事项的检查 → 经营主体登记事项的检查" in r.stdout
    assert "- SCJG-009 特种设备使用单位的检查" in r.stdout
    assert "1 added, 2 changed, 1 withdrawn, 11 unchanged; candidate " in r.stdout
    r = await run(env, "rules", "import-catalogue", str(good), "--json")
    assert r.exit_code == 0 and json.loads(r.stdout)["repeated"] is True
