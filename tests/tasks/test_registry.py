"""Registry and gate on a real MLflow store: first model, better, identical (no copy), worse, failed run; predict."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks.services import tracking
from tests.helpers import all_runs, client, execute

pytestmark = pytest.mark.slow

# A next-close (price level) model trained for one epoch, not shrunk toward persistence: far worse than a return
# model on the same days.
BAD = ["preprocess.target=price", "preprocess.scaler=minmax", "preprocess.features=[close]", "train.shrink=false"]
LOOSE = ["promote.max_mae_ratio=100"]  # let a weak first model through, to have a champion to beat
SHARPE_TOLERANT = ["promote.min_sharpe_gain=-100"]  # judge these cases on forecast error alone


def aliases() -> dict[str, str]:
    import mlflow  # the store is the one the last `client(root)` pointed at

    return {k: str(v) for k, v in mlflow.MlflowClient().get_registered_model("stockflow-sp500").aliases.items()}


def versions(root) -> list:
    return client(root).search_model_versions("name = 'stockflow-sp500'")


def test_gate_sequence_on_a_real_registry(project_dir):
    first = execute(project_dir, BAD + LOOSE)["promote"]
    assert first["promote"] and first["reason"].startswith("first model") and first["version"] == 1
    client(project_dir)
    assert aliases() == {"champion": "1", "challenger": "1"}

    better = execute(project_dir, LOOSE + SHARPE_TOLERANT)
    assert better["promote"]["promote"] and better["promote"]["challenger_mae"] < better["promote"]["champion_mae"]
    assert aliases() == {"champion": "2", "challenger": "2"}
    c = client(project_dir)
    run1 = c.get_model_version("stockflow-sp500", "1").run_id
    assert c.get_run(better["run_id"]).data.tags[tracking.PROMOTION].startswith("promoted v2")
    assert c.get_run(run1).data.tags["stockflow.challenged_by.v2"].startswith("promoted v2")

    # The same data, model settings and code make the same model: no copy, the run links to v2.
    same = execute(project_dir, LOOSE + SHARPE_TOLERANT)["promote"]
    assert same["version"] == 2 and not same["registered"] and "identical to v2" in same["reason"]
    # A backtest-only change makes the same model too.
    costs = execute(project_dir, LOOSE + SHARPE_TOLERANT + ["backtest.commission=0.002"])
    assert costs["promote"]["version"] == 2 and not costs["promote"]["registered"]
    assert client(project_dir).get_run(costs["run_id"]).data.tags[tracking.MODEL_VERSION] == "2"
    assert len(versions(project_dir)) == 2 and aliases() == {"champion": "2", "challenger": "2"}
    assert same["promote"]  # "its gate decision stands": v2 was promoted

    worse = execute(project_dir, BAD + LOOSE + ["train.seed=7"])["promote"]
    assert not worse["promote"] and "not below champion" in worse["reason"] and worse["version"] == 3
    assert aliases() == {"champion": "2", "challenger": "3"}
    version = client(project_dir).get_model_version("stockflow-sp500", "3")
    assert version.tags[tracking.GATE] == "rejected" and version.tags[tracking.DATA_VERSION]

    # A run that fails before its end registers nothing and moves no alias.
    ex = execute(project_dir, LOOSE + ["train.seed=8"], upto="backtest")["execution"]
    from tasks.services import execution

    (ex.ws.stage_dir("sp500", "evaluate") / "predictions.csv").unlink()
    with pytest.raises(FileNotFoundError):
        try:
            execution.conclude(ex)
        except BaseException as exc:
            execution.abort(ex, exc)
            raise
    assert client(project_dir).get_run(ex.run_id).info.status == "FAILED"
    assert aliases() == {"champion": "2", "challenger": "3"} and len(versions(project_dir)) == 3
    assert [r.info.status for r in all_runs(project_dir)].count("FINISHED") == 5


def test_first_model_worse_than_persistence_is_not_champion_and_predict_says_so(project_dir):
    runner = CliRunner()
    first = execute(project_dir, BAD)["promote"]
    assert not first["promote"] and "worse than persistence" in first["reason"]
    client(project_dir)
    assert aliases() == {"challenger": "1"}
    refused = runner.invoke(app, ["predict", "--root", str(project_dir)])
    assert refused.exit_code == 1 and "no champion" in refused.output

    execute(project_dir, LOOSE)
    stale = runner.invoke(app, ["predict", "--root", str(project_dir)])
    assert stale.exit_code == 1 and "is stale: its last bar is 2018-12-31" in stale.output
    out = runner.invoke(app, ["predict", "--root", str(project_dir), "--allow-stale", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert (
        got["version"] == 2 and got["last_date"] == "2018-12-31" and got["target_date"] == "2019-01-02"
    )  # the next NYSE session: New Year's Day is a holiday
    assert got["signal"] in (0, 1) and got["forecast"] == pytest.approx(
        got["last_close"] * (1 + got["expected_return"])
    )
    assert got["data_version"] in (project_dir / "data.dvc").read_text()
    # The champion's interval for the next close, at the level it was calibrated for, around its forecast.
    assert got["level"] == 0.9 and got["lower"] < got["forecast"] < got["upper"]
    assert got["upper"] / got["lower"] == pytest.approx((got["forecast"] / got["lower"]) ** 2)  # symmetric in log
    text = runner.invoke(app, ["predict", "--root", str(project_dir), "--allow-stale"]).output
    assert f"90% interval  {got['lower']:,.2f} .. {got['upper']:,.2f}" in text


def test_a_model_family_that_is_not_a_network_is_registered_served_and_monitored_like_the_lstm(project_dir):
    """Boosted trees (`train.architecture: gbm`), added through the model plug-in point alone: the same registry,
    the same pyfunc (raw bars in, forecast and interval out), predict and the monitor."""
    import pandas as pd

    from stockflow.data.prices import to_csv_text
    from tasks.commands import monitor
    from tasks.commands.ingest import ingest
    from tasks.commands.predict import next_day
    from tasks.services.workspace import Workspace

    ws = Workspace.project(project_dir)
    full = pd.read_csv(project_dir / "data" / "sp500.csv", parse_dates=["Date"])
    held = project_dir.parent / "held.csv"
    held.write_text(to_csv_text(full[full["Date"] < "2018-06-30"]))
    ingest(ws, ws.load_params(), f"csv:{held}", "sp500")
    result = execute(project_dir, ["train.architecture=gbm", "train.epochs=40", *LOOSE])
    assert result["promote"]["promote"] and result["train"]["epochs_run"] <= 40
    run = client(project_dir).get_run(result["run_id"])
    assert run.data.params["train.architecture"] == "gbm" and "Loss/validation" in run.data.metrics
    model = tracking.Tracker(project_dir, "stockflow").load_version("sp500", 1)
    assert model.metadata.metadata["architecture"] == "gbm"

    rest = project_dir.parent / "full.csv"
    rest.write_text(to_csv_text(full))
    ingest(ws, ws.load_params(), f"csv:{rest}", "sp500")
    params = ws.load_params()
    forecast = next_day(ws, params, "sp500", allow_stale=True)
    assert forecast.level == 0.9 and forecast.lower < forecast.forecast < forecast.upper
    report = monitor.check(ws, params, "sp500")
    assert report["live_days"] > 100 and report["interval_level"] == 0.9 and report["live_mae_ratio"] is not None
