"""`spotcheck registry import … --json` against the registry running as its own process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx

from spotcheck.embedded import free_port, stop_process


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"registry exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"registry not ready: {log.read_text()[-2000:]}")


def test_import_json_output(nats_url: str, database_url: str, tmp_path: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "SPOTCHECK_NATS_URL": nats_url,
        "SPOTCHECK_DATABASE_URL": database_url,
        "SPOTCHECK_VAR_DIR": str(tmp_path / "var"),
        "SPOTCHECK_REGISTRY_PORT": str(port),
        "SPOTCHECK_REGISTRY_URL": f"http://127.0.0.1:{port}",
        "SPOTCHECK_LOG_JSON": "false",
    }
    env.pop("SPOTCHECK_TOKEN", None)
    gen = subprocess.run(
        [sys.executable, "-m", "spotcheck", "registry", "generate", "--entities", "2500",
         "--inspectors", "30", "--bad", "0.02", "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert "entities.csv" in gen.stdout
    log = tmp_path / "registry.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "services.registry"], env=env, stdout=out, stderr=out
        )
    try:
        _wait_ready(f"http://127.0.0.1:{port}", proc, log)
        run = subprocess.run(
            [sys.executable, "-m", "spotcheck", "registry", "import", "entities",
             str(tmp_path / "entities.csv"), "--json", "--chunk-rows", "1000"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        summary = json.loads(run.stdout)  # exactly one JSON object and nothing else
        assert run.stdout.strip().count("\n") == 0
        assert set(summary) == {"accepted", "rejected", "rejects_file"}
        assert summary["accepted"] + summary["rejected"] == 2500
        assert 20 < summary["rejected"] < 120
        rejects = Path(summary["rejects_file"]).read_text(encoding="utf-8").splitlines()
        assert len(rejects) == summary["rejected"]
        assert all(json.loads(x)["errors"][0]["reason_zh"] for x in rejects)
        # the same file again: nothing new
        rerun = subprocess.run(
            [sys.executable, "-m", "spotcheck", "registry", "import", "entities",
             str(tmp_path / "entities.csv"), "--json"],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert json.loads(rerun.stdout)["accepted"] == summary["accepted"]
        insp = subprocess.run(
            [sys.executable, "-m", "spotcheck", "registry", "import", "inspectors",
             str(tmp_path / "inspectors.csv")],
            env=env, capture_output=True, text=True,
        )  # fmt: skip
        assert insp.returncode == 0, insp.stderr
        assert "accepted" in insp.stdout
    finally:
        proc.terminate()
        stop_process(proc)
