"""The monitor stage on a real registry: live days after the champion's data, the record, the refusals."""

from __future__ import annotations

import pandas as pd
import pytest

from stockflow.errors import MonitorError
from tasks.commands import monitor
from tasks.services import tracking
from tests.conftest import append_rest
from tests.helpers import client


@pytest.mark.slow
def test_a_check_measures_the_live_days_and_is_recorded(champion, small_prices):
    ws = champion
    params = ws.load_params()
    version = client(ws.root).get_model_version("stockflow-sp500", "1")
    assert version.tags[tracking.DATA_THROUGH] == "2018-06-29"  # the last bar before June 30
    assert version.tags[tracking.TEST_WINDOW].endswith("..2018-06-28")

    none_yet = monitor.check(ws, params, "sp500")
    assert none_yet["live_days"] == 0 and none_yet["verdict"] == "too few days" and not none_yet["alarm"]

    append_rest(ws, small_prices)
    report = monitor.check(ws, params, "sp500")
    later = small_prices[small_prices["Date"] > "2018-06-29"]
    assert set(monitor.CONTRACT) <= report.keys()
    assert report["live_days"] == len(later) and report["first_day"] == str(later["Date"].iloc[0].date())
    assert report["verdict"] in ("ok", "decayed", "miscovered", "drifted")
    # Live coverage of the champion's interval, from the registered model's own lower and upper ends.
    assert report["interval_level"] == 0.9 and 0 <= report["live_coverage"] <= 1
    assert report["miscovered"] == (report["live_coverage"] < 0.9 and report["coverage_pvalue"] < 0.01)
    # The test window as the gate saw it, recomputed from the registered model on raw bars.
    recorded = float(version.tags[tracking.TEST_MAE_RATIO])
    assert report["test_mae_ratio"] == recorded
    c = client(ws.root)
    run = c.get_run(report["run_id"])
    assert run.info.status == "FINISHED" and run.data.tags[tracking.KIND] == "monitor"
    assert c.get_experiment(run.info.experiment_id).name == "stockflow-monitor"
    assert run.data.tags["stockflow.champion_run_id"] == version.run_id
    assert [d.dataset.name for d in run.inputs.dataset_inputs] == ["sp500"]
    ratio = c.get_metric_history(report["run_id"], "Monitor/live_mae_ratio")
    assert [m.step for m in ratio] == list(range(1, len(later) + 1))
    assert ratio[-1].value == pytest.approx(report["live_mae_ratio"])
    assert pd.Timestamp(ratio[0].timestamp, unit="ms") == later["Date"].iloc[0]  # each step stamped with its day
    assert {"monitor.png", "live_days.csv", "check.json"} <= {a.path for a in c.list_artifacts(report["run_id"])}
    trail = pd.read_csv(c.download_artifacts(report["run_id"], "live_days.csv"))
    inside = (trail["actual"] >= trail["lower"]) & (trail["actual"] <= trail["upper"])
    assert inside.mean() == pytest.approx(report["live_coverage"]) and len(trail) == report["live_days"]
    coverage = c.get_metric_history(report["run_id"], "Monitor/live_coverage")  # the champion ageing, day by day
    assert [m.step for m in coverage] == list(range(1, len(later) + 1))
    assert coverage[-1].value == pytest.approx(report["live_coverage"])
    tags = c.get_model_version("stockflow-sp500", "1").tags
    assert tags[tracking.MONITOR_VERDICT] == report["verdict"] and tags[tracking.MONITOR_RUN] == report["run_id"]
    assert float(tags[tracking.MONITOR_RATIO]) == pytest.approx(report["live_mae_ratio"], abs=1e-4)

    # Monitor runs are not training runs: `stockflow runs` lists the training run only.
    from tasks.commands.compare import recent_runs_table

    assert "monitor" not in recent_runs_table(ws, params, "sp500", 10)
    # ... and predict shows the last verdict beside the forecast.
    from tasks.commands.predict import next_day

    text = next_day(ws, params, "sp500", allow_stale=True).to_text()
    assert f"monitor: {report['verdict']}" in text


@pytest.mark.slow
def test_what_cannot_be_checked_is_refused_in_one_line(champion, small_prices):
    ws = champion
    params = ws.load_params()
    with pytest.raises(MonitorError, match="no champion for stockflow-acme"):
        (ws.root / "data" / "acme.csv").write_text((ws.root / "data" / "sp500.csv").read_text())
        monitor.check(ws, params, "acme")
    c = client(ws.root)
    c.delete_model_version_tag("stockflow-sp500", "1", tracking.DATA_THROUGH)
    with pytest.raises(MonitorError, match="registered before stockflow recorded"):
        monitor.check(ws, params, "sp500")
    c.set_model_version_tag("stockflow-sp500", "1", tracking.DATA_THROUGH, "2018-06-29")
    bad = pd.read_csv(ws.root / "data" / "sp500.csv")
    bad.loc[5, "High"] = bad.loc[5, "Low"] / 2
    bad.to_csv(ws.root / "data" / "sp500.csv", index=False)
    with pytest.raises(MonitorError, match="No check from data that fails validation"):
        monitor.check(ws, params, "sp500")
