"""`stockflow replay`: the schedule over history, each step blind to its future, grouped in MLflow."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

from stockflow.champion.replay import as_of_dates, parse_every, step

LOOSE = ["promote.max_mae_ratio=100"]


def test_every_parses_counts_and_units():
    assert parse_every("3M") == pd.DateOffset(months=3)
    assert parse_every("2w") == pd.DateOffset(weeks=2)
    with pytest.raises(ValueError, match="e.g. 10D, 2W, 3M, 1Y"):
        parse_every("3Q")


def test_as_of_dates_step_through_the_data(small_prices):
    assert as_of_dates(small_prices, "2017-01-01", "6M") == [
        pd.Timestamp(d) for d in ("2017-01-01", "2017-07-01", "2018-01-01", "2018-07-01")
    ]
    with pytest.raises(ValueError, match="inside the data"):
        as_of_dates(small_prices, "2010-01-01", "6M")


@pytest.mark.slow
def test_a_step_sees_nothing_after_its_as_of_date(project_dir, small_prices):
    from tasks.services.workspace import Workspace

    params = Workspace.project(project_dir).load_params(LOOSE)
    as_of = pd.Timestamp("2017-09-01")
    _, decision = step(small_prices, params, as_of, None)
    changed = small_prices.copy()
    later = changed["Date"] > as_of
    changed.loc[later, ["Open", "High", "Low", "Close"]] *= 1.5
    _, again = step(changed, params, as_of, None)
    assert again.figures() == decision.figures()


@pytest.mark.slow
def test_replay_prints_steps_and_groups_runs_under_one_parent(project_dir, prefect_harness):
    from flows.replay import replay
    from stockflow.reporting.summary import replay_summary

    result = replay(root=str(project_dir), start="2017-07-01", every="6M", overrides=LOOSE)
    text = replay_summary(result)
    for as_of in ("2017-07-01", "2018-01-01", "2018-07-01"):
        assert as_of in text
    assert "current champion" in text and "train once" in text and "buy and hold" in text

    mlflow.set_tracking_uri(f"sqlite:///{project_dir / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["stockflow"], output_format="list")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = [r for r in runs if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert parent.info.status == "FINISHED" and len(children) == 3
    assert sorted(r.data.tags["stockflow.as_of"] for r in children) == ["2017-07-01", "2018-01-01", "2018-07-01"]
    assert all("gate.challenger_mae_ratio" in r.data.metrics for r in children)
    assert "replay/current_champion.sharpe" in parent.data.metrics
    client = mlflow.MlflowClient()
    assert "replay_equity.png" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    steps = pd.read_csv(client.download_artifacts(parent.info.run_id, "replay/steps.csv"))
    assert list(steps["version"]) == ["v1", "v2", "v3"] and steps["decision"].iloc[0] == "promoted"
    equity = pd.read_csv(client.download_artifacts(parent.info.run_id, "replay/equity.csv"), parse_dates=["date"])
    assert equity["date"].iloc[0] >= pd.Timestamp("2017-07-01")
    assert not client.search_registered_models()  # a replay never touches the registry


def test_replay_command_refuses_a_bad_interval(project_dir):
    from typer.testing import CliRunner

    from flows.cli import app

    out = CliRunner().invoke(app, ["replay", "--root", str(project_dir), "--start", "2017-01-01", "--every", "3Q"])
    assert out.exit_code == 2 and "e.g. 10D, 2W, 3M, 1Y" in out.output


def test_policies_parse():
    from stockflow.champion.policies import parse_policy

    assert parse_policy("every:3M").every == pd.DateOffset(months=3) and parse_policy("ALARM").name == "alarm"
    with pytest.raises(ValueError, match="every:<count>"):
        parse_policy("sometimes")


@pytest.mark.slow
def test_a_policy_forecasts_each_day_from_bars_before_it(project_dir, small_prices):
    from stockflow.champion.policies import parse_policy, simulate
    from tasks.services.workspace import Workspace

    params = Workspace.project(project_dir).load_params(LOOSE)
    start, cut = pd.Timestamp("2018-06-01"), pd.Timestamp("2018-10-01")
    first = simulate(small_prices, params, parse_policy("every:2M"), start, small_prices["Date"].max())
    changed = small_prices.copy()
    changed.loc[changed["Date"] > cut, ["Open", "High", "Low", "Close"]] *= 1.3
    again = simulate(changed, params, parse_policy("every:2M"), start, small_prices["Date"].max())
    before = first.forecasts["target_date"] <= cut
    assert before.sum() > 60 and first.retrains == again.retrains
    assert (first.forecasts.loc[before, "forecast"] == again.forecasts.loc[before, "forecast"]).all()
    assert first.forecasts["date"].iloc[0] == small_prices.loc[small_prices["Date"] >= start, "Date"].iloc[0]
    assert len(first.retrains) == 3  # Aug, Oct, Dec


@pytest.mark.slow
def test_policy_replay_prints_and_records_the_policies_side_by_side(project_dir, prefect_harness):
    # The flow as the command runs it (a CliRunner would hand Prefect's log handler a stream it then closes).
    from flows.replay import replay_policies
    from stockflow.reporting.summary import policies_summary

    result = replay_policies(root=str(project_dir), policies=["every:3M", "alarm", "once"], start="2018-07-01",
                             overrides=LOOSE)  # fmt: skip
    text = policies_summary(result)
    for policy in ("every:3M", "alarm", "once"):
        assert f"  {policy}" in text
    mlflow.set_tracking_uri(f"sqlite:///{project_dir / 'mlruns' / 'mlflow.db'}")
    runs = mlflow.search_runs(experiment_names=["stockflow"], output_format="list")
    (parent,) = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    children = {r.data.tags["stockflow.policy"]: r for r in runs if "mlflow.parentRunId" in r.data.tags}
    assert set(children) == {"every:3M", "alarm", "once"} and parent.info.status == "FINISHED"
    assert children["once"].data.metrics["policy/retrains"] == 0
    assert children["every:3M"].data.metrics["policy/retrains"] == 1  # 2018-10-01
    assert 0.5 < parent.data.metrics["policy/alarm.mae_ratio"] < 1.5
    client = mlflow.MlflowClient()
    assert "policies.png" in {a.path for a in client.list_artifacts(parent.info.run_id)}
    assert not client.search_registered_models()


def test_policy_replay_refuses_an_unknown_policy(project_dir):
    from typer.testing import CliRunner

    from flows.cli import app

    out = CliRunner().invoke(app, ["replay", "--root", str(project_dir), "--policy", "weekly"])
    assert out.exit_code == 2 and "every:<count>" in out.output
