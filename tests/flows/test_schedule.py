"""The scheduled deployment, inspected offline, and the scheduled flow on a CSV drop folder."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from pathlib import Path

import mlflow
import pytest
import yaml

from stockflow.data.prices import to_csv_text
from tests.helpers import prefect_runs

REPO = Path(__file__).resolve().parents[2]


def test_the_deployment_runs_the_scheduled_flow_on_weekdays_after_the_close():
    from cronsim import CronSim  # what Prefect itself uses to expand cron strings
    from prefect.flows import load_flow_from_entrypoint
    from prefect.schedules import Cron

    spec = yaml.safe_load((REPO / "prefect.yaml").read_text())
    deployment = {d["name"]: d for d in spec["deployments"]}["retrain"]
    assert deployment["work_pool"]["name"] == "stockflow"
    flow = load_flow_from_entrypoint(str(REPO / deployment["entrypoint"]))
    assert flow.name == "scheduled-retrain"
    assert flow.validate_parameters(deployment["parameters"]) == {"ticker": "sp500", "root": ".", "reason": None,
                                                                  "monitor_run_id": None}  # fmt: skip

    (schedule,) = deployment["schedules"]
    built = flow.to_deployment(name="retrain", schedule=Cron(schedule["cron"], timezone=schedule["timezone"]))
    assert built.schedules[0].schedule.cron == schedule["cron"]
    new_york = zoneinfo.ZoneInfo(schedule["timezone"])
    assert str(new_york) == "America/New_York"
    runs = CronSim(schedule["cron"], dt.datetime(2026, 11, 20, 12, 0, tzinfo=new_york))  # a Friday
    fires = [next(runs) for _ in range(5)]
    assert all(f.weekday() < 5 and (f.hour, f.minute) >= (16, 0) for f in fires)  # weekdays, after the close
    assert fires[0].weekday() == 4 and fires[1].weekday() == 0  # Friday, then straight to Monday


@pytest.mark.slow
def test_scheduled_run_takes_new_bars_and_retrains_only_when_there_are_some(project_dir, small_prices, prefect_harness):
    from flows.schedule import scheduled_retrain
    from tasks.commands.ingest import ingest
    from tasks.services.workspace import Workspace

    project = Workspace.project(project_dir)
    # The project holds data up to November 2018; December's bars arrive in the drop folder.
    held, december = (
        small_prices[small_prices["Date"] < "2018-12-01"],
        small_prices[small_prices["Date"] >= "2018-12-01"],
    )
    older = project_dir.parent / "held.csv"
    older.write_text(to_csv_text(held))
    ingest(project, project.load_params(), f"csv:{older}", "sp500")
    version_before = (project_dir / "data.dvc").read_text()
    mlflow.set_tracking_uri(f"sqlite:///{project_dir / 'mlruns' / 'mlflow.db'}")

    nothing = scheduled_retrain(root=str(project_dir))
    assert nothing["retrained"] is False and nothing["new_rows"] == 0

    drop = project_dir / "incoming"
    drop.mkdir()
    (drop / "sp500-2018-12.csv").write_text(to_csv_text(december))
    (drop / "sp500-overlap.csv").write_text(to_csv_text(small_prices.iloc[-40:-10]))  # old and new bars mixed
    result = scheduled_retrain(root=str(project_dir))
    assert result["retrained"] is True and result["new_rows"] == len(december)
    assert result["last_date"] == "2018-12-31"
    assert (project_dir / "data.dvc").read_text() != version_before  # a new data version
    assert project.project_data_file("sp500").read_text() == to_csv_text(small_prices)
    assert sorted(p.name for p in (drop / "taken").iterdir()) == ["sp500-2018-12.csv", "sp500-overlap.csv"]
    run = mlflow.MlflowClient().get_run(result["run_id"])
    assert (
        run.info.status == "FINISHED"
        and run.data.tags["stockflow.data_version"] in (project_dir / "data.dvc").read_text()
    )
    assert result["promote"]["version"] == 1

    again = scheduled_retrain(root=str(project_dir))
    assert again["retrained"] is False
    assert len(mlflow.search_runs(experiment_names=["stockflow"], output_format="list")) == 1


@pytest.mark.slow
def test_bad_new_bars_are_refused_and_nothing_changes(project_dir, small_prices, prefect_harness):
    from flows.schedule import scheduled_retrain
    from stockflow.errors import DataValidationError

    data_before = (project_dir / "data" / "sp500.csv").read_text()
    dvc_before = (project_dir / "data.dvc").read_text()
    future = small_prices.iloc[-5:].copy()
    future["Date"] = future["Date"] + dt.timedelta(days=60)
    future.loc[future.index[2], "Low"] = future.loc[future.index[2], "High"] * 2  # Low above High
    drop = project_dir / "incoming"
    drop.mkdir()
    (drop / "sp500-bad.csv").write_text(to_csv_text(future))
    with pytest.raises(DataValidationError, match="moved to incoming/rejected/"):
        scheduled_retrain(root=str(project_dir))
    assert (project_dir / "data" / "sp500.csv").read_text() == data_before
    assert (project_dir / "data.dvc").read_text() == dvc_before
    # Moved aside with its report, so the next scheduled run does not trip over it again.
    assert not (drop / "sp500-bad.csv").exists()
    assert "Low <= Open" in (drop / "rejected" / "sp500-bad.csv.report.md").read_text() or (
        drop / "rejected" / "sp500-bad.csv.report.md").read_text().count("|") > 4  # fmt: skip
    assert scheduled_retrain(root=str(project_dir))["retrained"] is False
    refused, quiet = prefect_runs("scheduled-retrain")[1::-1]  # named and tagged, the refused one too
    assert (refused.name, refused.state_name, quiet.name, quiet.state_name) == (
        "schedule sp500", "Failed", "schedule sp500", "Completed")  # fmt: skip
    assert set(refused.tags) == set(quiet.tags) == {"sp500", "kind:schedule", "trigger:schedule"}


def test_the_monitor_deployment_checks_after_the_retrain_and_its_alarms_start_the_retrain():
    from prefect.flows import load_flow_from_entrypoint

    from flows.monitor import resource_id
    from stockflow import monitors
    from stockflow.champion.monitor_report import ALARM_PREFIX

    spec = {d["name"]: d for d in yaml.safe_load((REPO / "prefect.yaml").read_text())["deployments"]}
    monitor, retrain = spec["monitor"], spec["retrain"]
    flow = load_flow_from_entrypoint(str(REPO / monitor["entrypoint"]))
    assert flow.name == "monitor" and flow.validate_parameters(monitor["parameters"])["root"] == "."
    (check,) = monitor["schedules"]
    (clock,) = retrain["schedules"]
    assert check["timezone"] == clock["timezone"] and check["cron"].split()[1] > clock["cron"].split()[1]
    (trigger,) = retrain["triggers"]
    # Every statistic's alarm, a new one's too, is answered: the trigger expects them all by their prefix.
    assert trigger["expect"] == [f"{ALARM_PREFIX}*"] and trigger["for_each"] == ["prefect.resource.id"]
    assert {monitors.statistic(n).verdict for n in monitors.names()} >= {"decayed", "miscovered", "drifted"}
    assert trigger["match"]["prefect.resource.id"] == resource_id("*")
    retrain_flow = load_flow_from_entrypoint(str(REPO / retrain["entrypoint"]))
    assert set(trigger["parameters"]) <= set(retrain_flow.parameters.properties)
    # A universe's: its own deployment, its own alarm (stockflow.universe.<verdict> about stockflow.universe.NAME).
    universe = spec["retrain-universe"]
    (alarm,) = universe["triggers"]
    assert (
        alarm["expect"] == ["stockflow.universe.*"] and alarm["match"]["prefect.resource.id"] == "stockflow.universe.*"
    )
    universe_flow = load_flow_from_entrypoint(str(REPO / universe["entrypoint"]))
    assert set(alarm["parameters"]) <= set(universe_flow.parameters.properties)
    assert universe_flow.validate_parameters(universe["parameters"])["universe"] == "sp20"
