"""The whole retrain flow in a real Prefect run, recorded in a real MLflow store, on real data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import mlflow
import numpy as np
import pytest

from stockflow.validation import DataValidationError
from tasks.project import STAGES

pytestmark = pytest.mark.slow


def _store(root: Path) -> mlflow.MlflowClient:
    mlflow.set_tracking_uri(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    return mlflow.MlflowClient()


def test_retrain_records_a_complete_traceable_run(project_dir, prefect_harness):
    from flows.retrain import retrain

    results = retrain(root=str(project_dir))
    assert set(STAGES) <= set(results)
    client = _store(project_dir)
    run = client.get_run(results["run_id"])
    assert run.info.status == "FINISHED"

    tags = run.data.tags
    assert tags["stockflow.trigger"].startswith("prefect:")
    assert tags["stockflow.ticker"] == "sp500"
    assert len(tags["mlflow.source.git.commit"]) == 40 and tags["stockflow.git_dirty"] == "false"
    assert tags["stockflow.data_version"] in (project_dir / "data.dvc").read_text()
    data_md5 = hashlib.md5((project_dir / "data" / "sp500.csv").read_bytes()).hexdigest()
    assert tags["stockflow.data_file_md5"] == data_md5

    params = run.data.params
    assert params["train.units"] == "8" and params["backtest.commission"] == "0.001"

    for curve in ("loss", "val_loss", "mae", "val_mae"):
        assert len(client.get_metric_history(run.info.run_id, curve)) == 1
    m = run.data.metrics
    assert m["evaluate.model.mae"] > 0 and m["evaluate.baselines.persistence.mae"] > 0
    assert np.isclose(m["evaluate.mae_ratio"], m["evaluate.model.mae"] / m["evaluate.baselines.persistence.mae"])
    assert "backtest.strategy.sharpe" in m and "backtest.buy_and_hold.sharpe" in m

    plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
    assert {"plots/prices.png", "plots/loss_curves.png", "plots/predicted_vs_actual.png", "plots/equity.png"} <= plots
    assert {a.path for a in client.list_artifacts(run.info.run_id, "validation")} == {
        "validation/report.json",
        "validation/report.md",
    }

    # The logged model is self-contained: raw bars in, and it reproduces the evaluate stage's test forecasts.
    (model,) = mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    loaded = mlflow.pyfunc.load_model(model.model_uri)
    from tasks.evaluate import load_predictions
    from tasks.prices_io import read_price_file
    from tasks.project import Project
    from tasks.registry import model_input

    project = Project(project_dir)
    prices = read_price_file(project.data_file("sp500"))
    out = loaded.predict(model_input(prices)).set_index("date")
    test = load_predictions(project, "sp500").query("split == 'test'")
    np.testing.assert_allclose(out.loc[test["date"], "forecast"], test["forecast"], rtol=1e-5)
    assert out.index[-1] == prices["Date"].iloc[-1]  # the last row: the forecast for the next trading day


def test_a_second_run_sits_beside_the_first(project_dir, prefect_harness):
    from flows.retrain import retrain

    first = retrain(root=str(project_dir))["run_id"]
    second = retrain(root=str(project_dir), overrides=["backtest.stop_loss=0.02"])["run_id"]
    client = _store(project_dir)
    assert first != second
    assert client.get_run(second).data.params["backtest.stop_loss"] == "0.02"


def test_bad_data_stops_before_training_and_records_nothing(project_dir, prefect_harness):
    from flows.retrain import retrain

    path = project_dir / "data" / "sp500.csv"
    lines = path.read_text().splitlines()
    cells = lines[100].split(",")
    cells[4] = str(float(cells[4]) * 100)  # a close off by a factor of 100
    lines[100] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    dvc_before = (project_dir / "data.dvc").read_text()

    with pytest.raises(DataValidationError, match="return within the bound"):
        retrain(root=str(project_dir))

    client = _store(project_dir)
    (run,) = client.search_runs(client.get_experiment_by_name("stockflow").experiment_id)
    assert run.info.status == "FAILED"
    assert "validation/report.json" in {a.path for a in client.list_artifacts(run.info.run_id, "validation")}
    assert not mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")
    assert not client.search_registered_models()  # nothing registered, no alias moved
    assert (project_dir / "data.dvc").read_text() == dvc_before
    assert not (project_dir / "outputs" / "sp500" / "train").exists()
