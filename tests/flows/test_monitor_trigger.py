"""Retraining on evidence, end to end on a real `prefect server`: the monitor's alarm starts the retrain deployment."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from tasks.services import tracking
from tests.conftest import append_rest
from tests.helpers import client
from tests.servers import prefect_server

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _prefect(env: dict, cwd: Path, *args: str, timeout: float = 300) -> str:
    out = subprocess.run([str(BIN / "prefect"), *args], cwd=cwd, env=env, capture_output=True, text=True,
                         timeout=timeout)  # fmt: skip
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return out.stdout


def _alarm_runs(env: dict, deployment: str) -> list[dict]:
    """The deployment's flow runs that an alarm started (the schedule's own runs have no reason)."""
    import requests

    found = requests.post(f"{env['PREFECT_API_URL']}/flow_runs/filter", timeout=10,
                          json={"deployments": {"name": {"any_": [deployment]}}, "limit": 20})  # fmt: skip
    found.raise_for_status()
    return [r for r in found.json() if r["parameters"].get("reason")]


@pytest.mark.slow
def test_an_alarm_starts_a_retrain_of_its_ticker_with_the_reason(champion, small_prices, tmp_path):
    ws = champion
    root = ws.root
    append_rest(ws, small_prices)
    # Make any shift count as drift, so that the check must raise an alarm on these live days.
    raw = yaml.safe_load((root / "params.yaml").read_text())
    raw["monitor"] = {**raw.get("monitor", {}), "psi_threshold": 1e-6, "ks_alpha": 0.999, "min_days": 5}
    (root / "params.yaml").write_text(yaml.safe_dump(raw, sort_keys=False))
    shutil.copy(REPO / "prefect.yaml", root / "prefect.yaml")
    shutil.copytree(REPO / "flows", root / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    with prefect_server(tmp_path) as env:
        env = {**env, "STOCKFLOW_ROOT": str(root), "PYTHONPATH": str(REPO)}
        env.pop("MLFLOW_TRACKING_URI", None)
        _prefect(env, root, "work-pool", "create", "stockflow", "--type", "process")
        _prefect(env, root, "--no-prompt", "deploy", "--all")
        # The monitor deployment's flow, run as its worker would run it: a check, then the alarm as an event.
        code = ("import json; from flows.monitor import monitor_champions; "
                "print(json.dumps(monitor_champions(root='.', take_bars=False), default=str))")  # fmt: skip
        out = subprocess.run([sys.executable, "-c", code], cwd=root, env=env, capture_output=True, text=True,
                             timeout=300)  # fmt: skip
        assert out.returncode == 0, out.stderr[-3000:]
        result = json.loads(out.stdout.strip().splitlines()[-1])
        report = result["checks"]["sp500"]
        assert report["verdict"] in ("decayed", "drifted") and "sp500" in result["alarms"]

        deadline, runs = time.monotonic() + 90, []
        while time.monotonic() < deadline and not runs:
            runs = _alarm_runs(env, "retrain")
            time.sleep(1)
        assert len(runs) == 1, "the alarm event did not start the retrain deployment"
        params = runs[0]["parameters"]
        assert params["ticker"] == "sp500" and params["monitor_run_id"] == report["run_id"]
        assert params["reason"].startswith(f"{report['verdict']}: ")

        # A worker picks it up and retrains: the MLflow run says it was the alarm, and which check raised it.
        _prefect(env, root, "worker", "start", "--pool", "stockflow", "--type", "process", "--run-once",
                 timeout=400)  # fmt: skip
        run = [r for r in _alarm_runs(env, "retrain") if r["id"] == runs[0]["id"]][0]
        assert run["state_type"] == "COMPLETED" and run["name"] == f"alarm sp500: {report['verdict']}"
        c = client(root)
        exp = c.get_experiment_by_name("stockflow")
        (retrained,) = c.search_runs([exp.experiment_id], filter_string="tags.`stockflow.trigger` = 'alarm'")
        assert retrained.data.tags[tracking.ALARM_RUN] == report["run_id"]
        assert retrained.data.tags[tracking.ALARM_REASON] == params["reason"]
        assert retrained.info.status == "FINISHED"

        # The same champion does not alarm again: it raised its drift alarm (or is within a decay's cool-down).
        from tasks.commands import monitor

        raised = c.get_model_version("stockflow-sp500", str(report["version"])).tags
        assert report["verdict"] in raised[tracking.MONITOR_ALARMS].split(",") and tracking.MONITOR_ALARMED in raised
        later = monitor.check(ws, ws.load_params(), "sp500")
        assert not later["alarm"] or later["version"] != report["version"]

        # An interval that stopped covering is an alarm too: the same trigger starts a retrain of its ticker.
        reason = "miscovered: its 90% interval covered 71.0% of 62 live days (Kupiec p 2.1e-07)"
        payload = {"ticker": "acme", "reason": reason, "monitor_run_id": "m-acme"}
        _prefect(env, root, "event", "emit", "stockflow.champion.miscovered", "--resource-id",
                 "stockflow.model.acme", "--payload", json.dumps(payload))  # fmt: skip
        deadline, acme = time.monotonic() + 90, []
        while time.monotonic() < deadline and not acme:
            acme = [r for r in _alarm_runs(env, "retrain") if r["parameters"].get("ticker") == "acme"]
            time.sleep(1)
        assert len(acme) == 1 and acme[0]["parameters"]["reason"] == reason, "miscovered did not start a retrain"

        # A universe's decayed champion starts the retrain-universe deployment, for that universe only.
        reason = "decayed: live Rank IC -0.0100 over 80 days (test window 0.0500); CUSUM 31.0 > 28.7 since 2019-03-01"
        payload = {"universe": "sp20", "reason": reason, "monitor_run_id": "m-sp20"}
        _prefect(env, root, "event", "emit", "stockflow.universe.decayed", "--resource-id", "stockflow.universe.sp20",
                 "--payload", json.dumps(payload))  # fmt: skip
        deadline, sp20 = time.monotonic() + 90, []
        while time.monotonic() < deadline and not sp20:
            sp20 = _alarm_runs(env, "retrain-universe")
            time.sleep(1)
        assert len(sp20) == 1 and sp20[0]["parameters"]["universe"] == "sp20", "a universe's alarm started nothing"
        assert not [r for r in _alarm_runs(env, "retrain") if r["parameters"].get("reason") == reason]
