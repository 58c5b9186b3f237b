"""`dvc exp run`, in the workspace and queued: one complete run each, in the project's store; metrics in git."""

from __future__ import annotations

import json

import pytest

from tasks.services import tracking
from tests.helpers import all_runs, client, dvc, every_run

pytestmark = pytest.mark.slow


def exp_metrics(root) -> dict[str, dict]:
    """Experiment name -> its metrics/sp500.json, as `dvc exp show --json` reports them."""
    shown = json.loads(dvc(root, "exp", "show", "--json").stdout)
    found = {}
    for baseline in shown:
        for exp in baseline.get("experiments") or []:
            for rev in exp.get("revs") or []:
                data = rev.get("data") or {}
                metrics = (data.get("metrics") or {}).get("metrics/sp500.json", {}).get("data")
                if rev.get("name") and metrics:
                    found[rev["name"]] = metrics
    return found


def test_two_experiments_in_a_row_each_record_their_own_complete_run(project_dir):
    first = dvc(project_dir, "exp", "run", "-S", "train.epochs=2", "-S", "train.patience=0")
    assert first.returncode == 0, first.stderr
    second = dvc(project_dir, "exp", "run", "-S", "backtest.stop_loss=0.03")
    assert second.returncode == 0, second.stderr

    runs = all_runs(project_dir)
    assert [r.info.status for r in runs] == ["FINISHED", "FINISHED"]
    names = [r.data.tags[tracking.DVC_EXP] for r in runs]
    assert runs[0].info.run_name == f"{names[0]}: sp500 epochs=2 patience=0"
    assert runs[1].data.params["backtest.stop_loss"] == "0.03" and runs[0].data.params["backtest.stop_loss"] == "0.05"
    # Each run's figures are its own experiment's: the same numbers as its metrics file in git.
    shown = exp_metrics(project_dir)
    assert set(shown) == set(names)
    for run, name in zip(runs, names, strict=True):
        for key in ("mae_pct", "sharpe", "return_pct", "max_dd_pct"):
            assert run.data.metrics[f"Headline/{key}"] == pytest.approx(shown[name][key]), (name, key)
    assert shown[names[0]]["sharpe"] != shown[names[1]]["sharpe"]  # different strategies, told apart
    assert runs[1].data.tags[tracking.STAGES_REUSED] == "validate, preprocess, train, evaluate"

    diff = dvc(project_dir, "exp", "diff", names[0], names[1])
    assert diff.returncode == 0 and "sharpe" in diff.stdout and "stop_loss" in diff.stdout
    plots = dvc(project_dir, "plots", "show", "--out", "plots-html")
    assert plots.returncode == 0, plots.stderr
    html = (project_dir / "plots-html" / "index.html").read_text()
    assert all(name in html for name in ("loss_curves.png", "predicted_vs_actual.png", "equity.png"))


def test_queued_experiments_record_their_runs_in_the_project_store(project_dir):
    for seed in (1, 2):
        out = dvc(project_dir, "exp", "run", "--queue", "-S", f"train.seed={seed}")
        assert out.returncode == 0, out.stderr
    out = dvc(project_dir, "exp", "run", "--run-all")
    assert out.returncode == 0, out.stderr + out.stdout
    runs = all_runs(project_dir)
    assert sorted(r.data.params["train.seed"] for r in runs) == ["1", "2"]
    assert all(r.info.status == "FINISHED" and r.data.tags.get(tracking.DVC_EXP) for r in runs)
    assert len(client(project_dir).search_model_versions("name = 'stockflow-sp500'")) == 2
    assert sorted(r.info.run_id for r in every_run(project_dir)) == sorted(r.info.run_id for r in runs)
    # Artifacts live in the project's store, not in DVC's thrown-away temporary copy.
    for run in runs:
        assert "/.dvc/tmp/" not in run.info.artifact_uri
        assert {"loss_curves.png", "equity.png"} <= {
            a.path for a in client(project_dir).list_artifacts(run.info.run_id)
        }
