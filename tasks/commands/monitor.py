"""`stockflow monitor`: the champion's live days checked, recorded as a monitor run and on the model version.

Reads the registry's champion and `data/<ticker>.csv` (validated first, as
`predict` does), lets the registered model itself forecast every day (the same
pyfunc users load, on raw bars), and hands the days to `stockflow/champion/monitoring.py`,
whose statistics (`stockflow/monitors/`) make the check. The check is an MLflow run
of the `<experiment>-monitor` experiment, linked to the champion's version and
training run; the version carries the last verdict. Whether to raise an alarm is
decided here (`Report.made`); sending it is the flow's (`flows/monitor.py`), since an
alarm is a Prefect event.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil
import time
from pathlib import Path
from typing import Any

import pandas as pd

from stockflow.champion import monitoring
from stockflow.champion.monitor_report import CONTRACT, Report
from stockflow.config import Params, flatten
from stockflow.data.prices import REQUIRED
from stockflow.errors import MonitorError
from tasks.commands.predict import champion_of
from tasks.services import tracking
from tasks.services.files import save_figure, write_csv, write_json
from tasks.services.tracking import monitor_tracker_for, tracker_for
from tasks.services.workspace import Workspace
from tasks.stages.validate import validated_prices

__all__ = ["CONTRACT", "check", "note_alarm"]


def check(ws: Workspace, params: Params, ticker: str, trigger: str = "cli", links: dict | None = None) -> Report:
    """Check the champion of `ticker` on its live days and record the check; the report (its JSON: `CONTRACT`)."""
    started = time.perf_counter()
    path, registry, version = champion_of(ws, params, ticker, MonitorError,
                                          f"to monitor: `stockflow run --ticker {ticker}` trains one")  # fmt: skip
    tags = version.tags or {}
    if tracking.DATA_THROUGH not in tags:
        raise MonitorError(
            f"{tracking.model_name(ticker)} v{version.version} was registered before stockflow recorded what a "
            f"model was trained on ({tracking.DATA_THROUGH}): its live days are unknown. Retrain "
            f"(`stockflow run --ticker {ticker}`) to monitor its successor."
        )
    prices = validated_prices(ws, params, path, MonitorError, "check")
    forecasts = _forecasts(ws, registry, ticker, version, prices, path)
    days = monitoring.day_frame(prices, forecasts)
    data_through = pd.Timestamp(tags[tracking.DATA_THROUGH])
    windows = {name: tuple(pd.Timestamp(d) for d in tags[key].split(".."))
               for name, key in (("train", tracking.TRAIN_WINDOW), ("test", tracking.TEST_WINDOW))}  # fmt: skip
    inputs = monitoring.model_inputs(prices)
    # The interval's level as the forecaster gives it (a version registered before that carried it as a tag).
    level = forecasts["level"].iloc[-1] if "level" in forecasts else tags.get(tracking.INTERVAL_LEVEL)
    result, trail = monitoring.check(days, inputs, windows, data_through, params.monitor,
                                     None if level is None else float(level))  # fmt: skip
    # The ratio the gate saw when it promoted the champion; the check's own recomputation is the same days.
    recorded = float(tags.get(tracking.TEST_MAE_RATIO, result.test_mae_ratio))
    result = dataclasses.replace(result, test_mae_ratio=recorded)
    last_alarm = tags.get(tracking.MONITOR_ALARMED, "")  # "2019-01-02 drifted": the day and the verdict
    since = None if not last_alarm else int((trail["target_date"] > pd.Timestamp(last_alarm.split()[0])).sum())
    report = Report.made(
        ticker, int(version.version), result, set(tags.get(tracking.MONITOR_ALARMS, "").split(",")) - {""}, since,
        params.monitor.cooldown_days, data_through=str(data_through.date()),
        trained_at=tags.get(tracking.TRAINED_AT, "unknown"), champion_run_id=version.run_id,
        strategy=monitoring.live_strategy(prices, monitoring.live_days(days, data_through), params.backtest),
        checked_at=dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    )  # fmt: skip
    compared = monitoring.input_windows(inputs, windows["train"], data_through, params.monitor.drift_window)
    report = dataclasses.replace(report, run_id=_record(ws, params, report, trail, compared, trigger, links or {}))
    return dataclasses.replace(report, seconds=round(time.perf_counter() - started, 3))


def _forecasts(ws: Workspace, registry: Any, ticker: str, version: Any, prices: pd.DataFrame, path: Path):
    """The registered model's forecast for every day of the file, as its pyfunc gives them.

    Kept per version and data bytes: checking the same file again (the UI open, a second look)
    does not load TensorFlow again; a new bar means new bytes, and the model runs.
    """
    from tasks.services.workspace import md5

    cache = (
        ws.root / ".stockflow" / "cache" / "forecasts" / f"{ticker}-v{version.version}-{version.run_id}-{md5(path)}.csv"
    )
    if cache.is_file():
        return pd.read_csv(cache, parse_dates=["date"])
    forecasts = registry.load_version(ticker, version.version).predict(prices[REQUIRED])
    forecasts = forecasts[[c for c in ("date", "forecast", *monitoring.BOUNDS, "level") if c in forecasts]]
    cache.parent.mkdir(parents=True, exist_ok=True)
    write_csv(forecasts, cache, float_format="%.17g")
    return forecasts


def note_alarm(ws: Workspace, params: Params, report: Report) -> None:
    """Remember on the version that it raised an alarm today (its cool-down counts from this day)."""
    day, verdict = report.check.last_day or str(dt.date.today()), report.check.verdict
    registry = tracker_for(ws.root, params)
    raised = registry.version_tags(report.ticker, report.version)
    kinds = sorted({*filter(None, raised.get(tracking.MONITOR_ALARMS, "").split(",")), verdict})
    registry.set_version_tags(report.ticker, report.version, {tracking.MONITOR_ALARMED: f"{day} {verdict}",
                                                               tracking.MONITOR_ALARMS: ",".join(kinds)})  # fmt: skip
    monitor_tracker_for(ws.root, params).set_tags(report.run_id, {"stockflow.alarm": f"raised on {day}"})


def _record(ws: Workspace, params: Params, report: Report, trail: pd.DataFrame, inputs: tuple, trigger: str,
            links: dict) -> str:  # fmt: skip
    """The check as a monitor run (figures, the champion ageing day by day, the plot) and on the version."""
    from stockflow.reporting import plots
    from tasks.services import dvc_repo
    from tasks.services.workspace import md5

    ticker, version, verdict = report.ticker, report.version, report.check.verdict
    tracker, registry = monitor_tracker_for(ws.root, params), tracker_for(ws.root, params)
    champion_url = registry.run_url(report.champion_run_id) if report.champion_run_id else "-"
    tags = {
        **links,
        tracking.KIND: tracking.MONITOR,
        tracking.TICKER: ticker,
        tracking.TRIGGER: trigger,
        tracking.MODEL_VERSION: str(version),
        "stockflow.champion_run_id": report.champion_run_id or "",
        "stockflow.verdict": verdict,
        tracking.NOTE: f"Check of `{tracking.model_name(ticker)}` v{version} (the champion), trained on data through "
        f"{report.data_through}; its training run: {champion_url}\n\n```\n{report.text()}\n```",
    }
    run_id = tracker.open_run(f"monitor {ticker} v{version}: {verdict}",
                              flatten({"monitor": params.monitor.model_dump()}), tags)  # fmt: skip
    try:
        data = ws.project_data_file(ticker)
        tracker.log_dataset(run_id, data, ticker, md5(data), dvc_repo.data_version(ws.root), context="monitor")
        tracker.log_metrics(run_id, report.metrics())
        if len(trail):
            stamps = (pd.to_datetime(trail["target_date"]) - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
            tracker.log_series(run_id, report.series(trail), stamps)
        recorded = dataclasses.replace(report, run_id=run_id).to_dict()
        log_check_files(ws, tracker, run_id, ticker, recorded, trail, plots.monitor_chart(trail, *inputs, recorded))
        tracker.finish(run_id)
    except BaseException as exc:
        tracker.finish(run_id, failure=f"{type(exc).__name__}: {exc}")
        raise
    ratio = report.check.live_mae_ratio
    registry.set_version_tags(ticker, version, {
        tracking.MONITOR_VERDICT: verdict,
        tracking.MONITOR_RATIO: "n/a" if ratio is None else f"{ratio:.4f}",
        tracking.MONITOR_AT: report.checked_at,
        tracking.MONITOR_RUN: run_id,
    })  # fmt: skip
    return run_id


def log_check_files(ws: Workspace, tracker: Any, run_id: str, subject: str, check: dict, trail: pd.DataFrame,
                    figure: Any) -> None:  # fmt: skip
    """A check's files in its monitor run: check.json, live_days.csv and monitor.png (`figure`), written to a scratch
    folder of the workspace (named by `subject` and the run) and removed once logged."""
    out = ws.root / ".stockflow" / "monitor" / f"{subject}-{run_id}"
    out.mkdir(parents=True, exist_ok=True)
    try:
        write_json(out / "check.json", check)
        write_csv(trail, out / "live_days.csv")
        save_figure(figure, out / "monitor.png")
        for name in ("check.json", "live_days.csv", "monitor.png"):
            tracker.log_file(run_id, out / name)
    finally:
        shutil.rmtree(out, ignore_errors=True)
