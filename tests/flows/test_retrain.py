"""The retrain flow in a real Prefect run, recorded in a real MLflow store, on real data; DVC agrees after it."""

from __future__ import annotations

import hashlib

import mlflow
import numpy as np
import pandas as pd
import pytest

from stockflow.reporting.headline import NAMES as HEADLINE
from stockflow.reporting.headline import for_mlflow
from tasks.kinds import TICKER
from tasks.services import tracking
from tests.helpers import all_runs, client, dvc, ran

pytestmark = pytest.mark.slow


def test_retrain_records_a_complete_traceable_run_and_leaves_dvc_up_to_date(project_dir, prefect_harness):
    from flows.retrain import retrain

    results = retrain("sp500", str(project_dir), [], None, trigger="test")
    assert set(TICKER.names) <= set(results)
    c = client(project_dir)
    run = c.get_run(results["run_id"])
    assert run.info.status == "FINISHED" and run.info.run_name == "sp500"

    tags = run.data.tags
    assert tags[tracking.TRIGGER] == "test" and tags[tracking.TICKER] == "sp500" and tags[tracking.PREFECT_RUN]
    assert len(tags[tracking.GIT_COMMIT]) == 40 and tags[tracking.GIT_DIRTY] == "false"
    assert tags[tracking.DATA_VERSION] in (project_dir / "data.dvc").read_text()
    data_md5 = hashlib.md5((project_dir / "data" / "sp500.csv").read_bytes()).hexdigest()
    assert tags[tracking.DATA_FILE_MD5] == data_md5
    assert tags[tracking.MODEL_VERSION] == "1" and "stockflow: sp500" in tags[tracking.NOTE]

    params = run.data.params
    assert params["train.units"] == "8" and params["backtest.commission"] == "0.001"
    for curve in ("Loss/training", "Loss/validation", "train/mae_scaled", "train/val_mae_scaled"):
        assert len(c.get_metric_history(run.info.run_id, curve)) == 1
    m = run.data.metrics
    assert set(for_mlflow(dict.fromkeys(HEADLINE))) <= set(m)
    for key in for_mlflow(dict.fromkeys(HEADLINE)):  # logged once, complete: one point per headline figure
        assert len(c.get_metric_history(run.info.run_id, key)) == 1, key
    # The price data as an MLflow dataset: the runs table's Dataset column, the run's page.
    (used,) = run.inputs.dataset_inputs
    assert used.dataset.name == "sp500" and used.dataset.digest == data_md5
    assert tags[tracking.DATA_VERSION] in used.dataset.source and "data/sp500.csv@" in used.dataset.source
    ratio = m["evaluate/model.mae"] / m["evaluate/baselines.persistence.mae"]
    assert abs(m["Headline/mae_pct"] - 100 * ratio) <= 0.005 and np.isclose(m["evaluate/mae_ratio"], ratio)
    assert abs(m["Headline/sharpe"] - m["backtest/strategy.sharpe"]) <= 0.0005 and "backtest/buy_and_hold.sharpe" in m

    top = {a.path for a in c.list_artifacts(run.info.run_id)}
    assert {"prices.png", "loss_curves.png", "predicted_vs_actual.png", "equity.png", "search_heatmap.png"} <= top
    assert {a.path for a in c.list_artifacts(run.info.run_id, "validate")} == {"validate/report.json",
                                                                                "validate/report.md"}  # fmt: skip

    # The logged model is self-contained: raw rows as a CSV reads them in, the evaluate stage's forecasts out.
    loaded = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    raw = pd.read_csv(project_dir / "data" / "sp500.csv")
    out = loaded.predict(raw.tail(300)).set_index("date")
    test = pd.read_csv(project_dir / "outputs" / "sp500" / "evaluate" / "predictions.csv", parse_dates=["date"])
    test = test[(test["split"] == "test") & test["date"].isin(out.index)]
    np.testing.assert_allclose(out.loc[test["date"], "forecast"], test["forecast"], rtol=1e-5)
    assert out.index[-1] == pd.Timestamp(raw["Date"].iloc[-1])  # the last row: the next trading day's forecast

    # The flow published its outputs: DVC sees the pipeline up to date and has nothing to run.
    assert results["published"] == "outputs/ and dvc.lock"
    status = dvc(project_dir, "status")
    assert "up to date" in status.stdout, status.stdout
    assert ran(dvc(project_dir, "repro")) == []
    assert len(all_runs(project_dir)) == 1
    headline = (project_dir / "metrics" / "sp500.json").read_text()
    assert '"mae_pct"' in headline and "Infinity" not in headline and "NaN" not in headline


def test_a_run_with_overrides_is_named_by_them_and_not_published(project_dir, prefect_harness):
    from flows.retrain import retrain

    results = retrain("sp500", str(project_dir), ["backtest.stop_loss=0.02", "preset=paper", "train.epochs=1"],
                          None, trigger="test")  # fmt: skip
    run = client(project_dir).get_run(results["run_id"])
    assert run.info.run_name == "sp500 paper epochs=1 stop_loss=0.02"
    assert run.data.params["backtest.stop_loss"] == "0.02" and run.data.tags[tracking.PRESET] == "paper"
    assert results["published"].startswith("no: settings were overridden")
    assert not (project_dir / "outputs").exists()  # nothing of it where DVC looks
    assert not any((project_dir / ".stockflow" / "runs").iterdir())  # its workspace is cleaned up


def test_bad_data_stops_the_flow_before_training_and_records_nothing(project_dir, prefect_harness):
    from flows.retrain import retrain
    from stockflow.errors import DataValidationError

    path = project_dir / "data" / "sp500.csv"
    lines = path.read_text().splitlines()
    lines[50], lines[51] = lines[51], lines[50]  # unsorted dates
    path.write_text("\n".join(lines) + "\n")
    dvc_before = (project_dir / "data.dvc").read_text()
    with pytest.raises(DataValidationError, match="dates out of order"):
        retrain("sp500", str(project_dir), [], None, trigger="test")
    (run,) = all_runs(project_dir)
    assert run.info.status == "FAILED"
    assert not mlflow.search_logged_models(experiment_ids=[run.info.experiment_id], output_format="list")

    # As a person sees it: the report and what was (not) done, no pages of engine logs, no traceback.
    from typer.testing import CliRunner

    from flows.cli import app

    out = CliRunner().invoke(app, ["run", "--root", str(project_dir)])
    assert out.exit_code == 1 and "Traceback" not in out.output and len(out.output.splitlines()) < 12, out.output
    assert "dates out of order" in out.output and "Stopped at validate" in out.output
    assert not client(project_dir).search_registered_models()
    assert (project_dir / "data.dvc").read_text() == dvc_before


def test_the_prefect_run_is_named_tagged_logged_and_linked_to_its_mlflow_run(project_dir, prefect_harness):
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, FlowRunFilter, LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    from flows.retrain import retrain

    results = retrain("sp500", str(project_dir), ["train.seed=3"], None, trigger="test")
    APILogWorker.drain_all(timeout=10)  # logs travel to the API in the background
    flow_run_id = client(project_dir).get_run(results["run_id"]).data.tags[tracking.PREFECT_RUN]

    async def look():
        async with get_client() as c:
            flow_run = await c.read_flow_run(flow_run_id)
            logs = await c.read_logs(LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run.id])), limit=200)
            links = await c.read_artifacts(flow_run_filter=FlowRunFilter(id={"any_": [flow_run.id]}),
                                           artifact_filter=ArtifactFilter())  # fmt: skip
            return flow_run, [entry.message for entry in logs], links

    flow_run, messages, links = asyncio.run(look())
    assert flow_run.name == "sp500 seed=3"
    assert {"sp500", "preset:default", "trigger:test"} <= set(flow_run.tags)
    for stage in TICKER.names:
        assert any(m.startswith(f"{stage}: ") for m in messages), (stage, messages)
    assert any(results["run_id"] in m for m in messages)
    assert any(a.type == "markdown" and results["run_id"] in a.data for a in links)
    progress = [a for a in links if a.type == "progress"]  # the train task's epochs, as the Prefect UI shows them
    assert [(a.key, a.data) for a in progress] == [("train-sp500", 100.0)]


def test_stockflow_runs_compares_the_last_runs_in_the_terminal(project_dir):
    from typer.testing import CliRunner

    from flows.cli import app
    from tests.helpers import execute

    execute(project_dir, ["promote.max_mae_ratio=100"])
    execute(project_dir, ["promote.max_mae_ratio=100", "train.seed=5"], name="second")
    out = CliRunner().invoke(app, ["runs", "--root", str(project_dir)])
    assert out.exit_code == 0, out.output
    lines = out.output.splitlines()
    assert "MAE %pers" in lines[1] and "Sharpe" in lines[1]
    assert lines[2].split()[2] == "second" and "FINISHED" in lines[2]  # newest first
    assert "v1*" in out.output or "v2*" in out.output  # the champion marked


def test_artifact_keys_are_valid_for_every_ticker_name():
    from flows.retrain import artifact_key

    assert [artifact_key("train", t) for t in ("sp500", "BRK.B", "sp_500", "A-1")] == [
        "train-sp500", "train-brk-b", "train-sp-500", "train-a-1"]  # fmt: skip
