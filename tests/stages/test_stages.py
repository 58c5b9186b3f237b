"""Each stage function on small real data in a temp project, one after another, into one MLflow run."""

from __future__ import annotations

import json

import mlflow
import pytest

from tasks import tracking
from tasks.pipeline import stage_function
from tasks.project import STAGES, Project

pytestmark = pytest.mark.slow

EXPECTED_FILES = {
    "validate": ["report.json", "report.md"],
    "preprocess": ["dataset.npz", "transform.joblib"],
    "train": ["model.keras", "history.csv"],
    "evaluate": ["predictions.csv"],
    "backtest": ["equity.csv", "trades.csv", "search.csv"],
    "promote": [],  # its output is the registry entry and metrics/<ticker>/promote.json
}


def test_stages_write_their_outputs_and_metrics(project_dir):
    project = Project(project_dir)
    params = project.load_params()
    run_id = tracking.open_run(project, params, "sp500", trigger="test")
    for stage in STAGES:
        stage_function(stage)(project, params, "sp500", run_id, final=stage == STAGES[-1])
        for name in EXPECTED_FILES[stage]:
            assert (project.out_dir("sp500", stage) / name).exists(), (stage, name)
        assert json.loads(project.metrics_file("sp500", stage).read_text())
        status = mlflow.MlflowClient().get_run(run_id).info.status
        assert status == ("FINISHED" if stage == STAGES[-1] else "RUNNING")

    evaluate = json.loads(project.metrics_file("sp500", "evaluate").read_text())
    assert set(evaluate["baselines"]) == {"persistence", "drift", "sma", "ridge", "svr"}
    backtest = json.loads(project.metrics_file("sp500", "backtest").read_text())
    gross, net = backtest["strategy_gross"], backtest["strategy"]
    assert gross["trades"] == 0 or gross["final_equity"] >= net["final_equity"]
    # Tuned on the validation window, traded once on the test window, both reported and logged.
    opt = backtest["optimised"]
    assert opt["candidates"] == 36 and set(opt["chosen"]) == {"threshold", "stop_loss", "take_profit"}
    assert {"sharpe", "calmar", "total_return"} <= set(opt["validation"]) & set(opt["test"])
    client = mlflow.MlflowClient()
    logged = {a.path for a in client.list_artifacts(run_id, "plots")}
    assert "plots/search_heatmap.png" in logged
    assert "backtest.optimised.test.sharpe" in client.get_run(run_id).data.metrics

    from tasks import backtest as backtest_stage

    walk = backtest_stage.compute(project, project.load_params(["backtest.optimise.walk_forward_folds=2"]), "sp500")
    folds = walk["optimised"]["walk_forward"]["folds"]
    assert len(folds) == 2 and folds[0]["end"] <= folds[1]["start"]


def test_a_failing_stage_marks_the_run_failed(project_dir):
    project = Project(project_dir)
    params = project.load_params()
    run_id = tracking.open_run(project, params, "sp500", trigger="test")
    with pytest.raises(FileNotFoundError):
        stage_function("train")(project, params, "sp500", run_id)  # preprocess never ran
    run = mlflow.MlflowClient().get_run(run_id)
    assert run.info.status == "FAILED" and "FileNotFoundError" in run.data.tags["stockflow.failure"]
