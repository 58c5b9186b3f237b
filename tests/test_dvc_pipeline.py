"""`dvc repro` runs the same stages, in a real DVC repo, and never adopts bad data as a version."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
import yaml

pytestmark = pytest.mark.slow


def dvc(root: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True, env=env)


def ran(out: subprocess.CompletedProcess) -> list[str]:
    return [line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")]


def runs(root: Path) -> list:
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    return mlflow.search_runs(experiment_names=["stockflow"], output_format="list", order_by=["start_time ASC"])


def test_repro_runs_all_then_none_then_only_what_changed(project_dir):
    first = dvc(project_dir, "repro")
    assert first.returncode == 0, first.stderr
    assert ran(first) == ["validate", "preprocess", "train", "evaluate", "backtest", "promote"]
    assert dvc(project_dir, "repro").stdout.count("Running stage") == 0
    git = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_dir, capture_output=True, text=True
    )
    assert git.stdout == ""

    params = yaml.safe_load((project_dir / "params.yaml").read_text())
    params["backtest"]["stop_loss"] = 0.02
    (project_dir / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    third = dvc(project_dir, "repro")
    assert ran(third) == ["backtest", "promote"]

    done = runs(project_dir)
    assert [r.info.status for r in done] == ["FINISHED", "FINISHED"]
    assert all(r.data.tags["stockflow.trigger"] == "dvc" for r in done)
    # The second run re-logs the unchanged upstream stages, so it is complete on its own.
    assert done[1].data.params["backtest.stop_loss"] == "0.02"
    assert "evaluate.model.mae" in done[1].data.metrics and "train.best_val_loss" in done[1].data.metrics


def test_repro_stops_at_validate_and_keeps_the_recorded_data_version(project_dir):
    dvc_file = project_dir / "data.dvc"
    before = dvc_file.read_text()
    path = project_dir / "data" / "sp500.csv"
    lines = path.read_text().splitlines()
    lines[50], lines[51] = lines[51], lines[50]  # unsorted dates
    path.write_text("\n".join(lines) + "\n")

    out = dvc(project_dir, "repro")
    assert out.returncode != 0
    assert "dates are strictly increasing" in out.stderr
    assert ran(out) == ["validate"]
    assert dvc_file.read_text() == before
    assert not (project_dir / "outputs" / "sp500" / "train").exists()
    (run,) = runs(project_dir)
    assert run.info.status == "FAILED"
