"""`stockflow monitor`: the champion's live days checked, recorded as a monitor run and on the model version.

Reads the registry's champion and `data/<ticker>.csv` (validated first, as
`predict` does), lets the registered model itself forecast every day (the same
pyfunc users load, on raw bars), and hands the days to `stockflow/monitoring.py`.
The check is an MLflow run of the `<experiment>-monitor` experiment, linked to
the champion's version and training run; the version carries the last verdict.
Whether to raise an alarm is decided here (`alarm_due`); sending it is the flow's
(`flows/monitor.py`), since an alarm is a Prefect event.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from typing import Any

import pandas as pd

from stockflow import monitoring
from stockflow.config import Params, flatten
from stockflow.errors import MonitorError
from stockflow.prices import REQUIRED
from tasks.commands.predict import champion_of
from tasks.services import tracking
from tasks.services.files import save_figure, strict, write_csv, write_json
from tasks.services.tracking import monitor_tracker_for, tracker_for
from tasks.services.workspace import Workspace
from tasks.stages.validate import validated_prices

# The keys `stockflow monitor --json` promises; the rest of the object may grow.
CONTRACT = (
    "ticker",
    "version",
    "live_days",
    "live_mae_ratio",
    "test_mae_ratio",
    "decay",
    "drift",
    "verdict",
    "interval_level",
    "live_coverage",
    "coverage_pvalue",
    "miscovered",
)


def check(ws: Workspace, params: Params, ticker: str, trigger: str = "cli", links: dict | None = None) -> dict:
    """Check the champion of `ticker` on its live days and record the check; the report (see CONTRACT)."""
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
    level = None if level is None else float(level)
    result, trail = monitoring.check(days, inputs, windows, data_through, params.monitor, level)
    strategy = monitoring.live_strategy(prices, monitoring.live_days(days, data_through), params.backtest)
    last_alarm = tags.get(tracking.MONITOR_ALARMED, "")  # "2019-01-02 drifted": the day and the verdict
    since = None if not last_alarm else int((trail["target_date"] > pd.Timestamp(last_alarm.split()[0])).sum())
    drift_alarmed = "drifted" in tags.get(tracking.MONITOR_ALARMS, "")
    report = {
        "ticker": ticker,
        "version": int(version.version),
        **result.to_dict(),
        # The ratio the gate saw when it promoted the champion; the check's own recomputation is the same days.
        "test_mae_ratio": float(tags.get(tracking.TEST_MAE_RATIO, result.test_mae_ratio)),
        "alarm": monitoring.alarm_due(
            result.verdict, since, params.monitor.cooldown_days, drift_alarmed, result.drift_adverse
        ),
        "data_through": str(data_through.date()),
        "trained_at": tags.get(tracking.TRAINED_AT, "unknown"),
        "champion_run_id": version.run_id,
        "strategy": strategy,
        "checked_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    compared = monitoring.input_windows(inputs, windows["train"], data_through, params.monitor.drift_window)
    report["run_id"] = _record(ws, params, report, trail, compared, trigger, links or {})
    report["seconds"] = round(time.perf_counter() - started, 3)
    return strict(report)


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


def note_alarm(ws: Workspace, params: Params, report: dict) -> None:
    """Remember on the version that it raised an alarm today (its cool-down counts from this day)."""
    day = report["last_day"] or str(dt.date.today())
    registry = tracker_for(ws.root, params)
    raised = registry.version_tags(report["ticker"], report["version"])
    kinds = sorted({*filter(None, raised.get(tracking.MONITOR_ALARMS, "").split(",")), report["verdict"]})
    registry.set_version_tags(report["ticker"], report["version"],
                              {tracking.MONITOR_ALARMED: f"{day} {report['verdict']}",
                               tracking.MONITOR_ALARMS: ",".join(kinds)})  # fmt: skip
    monitor_tracker_for(ws.root, params).set_tags(report["run_id"], {"stockflow.alarm": f"raised on {day}"})


def _record(ws: Workspace, params: Params, report: dict, trail: pd.DataFrame, inputs: tuple, trigger: str,
            links: dict) -> str:  # fmt: skip
    """The check as a monitor run (figures, the champion ageing day by day, the plot) and on the version."""
    from stockflow import plots

    ticker, version = report["ticker"], report["version"]
    tracker, registry = monitor_tracker_for(ws.root, params), tracker_for(ws.root, params)
    name = f"monitor {ticker} v{version}: {report['verdict']}"
    champion_url = registry.run_url(report["champion_run_id"]) if report["champion_run_id"] else "-"
    tags = {
        **links,
        tracking.KIND: tracking.MONITOR,
        tracking.TICKER: ticker,
        tracking.TRIGGER: trigger,
        tracking.MODEL_VERSION: str(version),
        "stockflow.champion_run_id": report["champion_run_id"] or "",
        "stockflow.verdict": report["verdict"],
        tracking.NOTE: f"Check of `{tracking.model_name(ticker)}` v{version} (the champion), trained on data through "
        f"{report['data_through']}; its training run: {champion_url}\n\n```\n{monitor_text(report)}\n```",
    }
    run_id = tracker.open_run(name, flatten({"monitor": params.monitor.model_dump()}), tags)
    try:
        from tasks.services import dvc_repo
        from tasks.services.workspace import md5

        data = ws.project_data_file(ticker)
        tracker.log_dataset(run_id, data, ticker, md5(data), dvc_repo.data_version(ws.root), context="monitor")
        tracker.log_metrics(run_id, _figures(report))
        if len(trail):
            stamps = (pd.to_datetime(trail["target_date"]) - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
            tracker.log_series(run_id, {"Monitor/live_mae_ratio": trail["cum_mae_ratio"],
                                        "Monitor/cum_error_vs_persistence": trail["cum_error_vs_persistence"],
                                        "Monitor/cusum": trail["cusum"],
                                        **({"Monitor/live_coverage": trail["cum_coverage"]}
                                           if "cum_coverage" in trail else {})}, stamps)  # fmt: skip
        out = ws.root / ".stockflow" / "monitor" / f"{ticker}-{run_id}"
        out.mkdir(parents=True, exist_ok=True)
        try:
            write_json(out / "check.json", report)
            write_csv(trail, out / "live_days.csv")
            save_figure(plots.monitor_chart(trail, *inputs, report), out / "monitor.png")
            for name_ in ("check.json", "live_days.csv", "monitor.png"):
                tracker.log_file(run_id, out / name_)
        finally:
            _remove(out)
        tracker.finish(run_id)
    except BaseException as exc:
        tracker.finish(run_id, failure=f"{type(exc).__name__}: {exc}")
        raise
    registry.set_version_tags(ticker, version, {
        tracking.MONITOR_VERDICT: report["verdict"],
        tracking.MONITOR_RATIO: "n/a" if report["live_mae_ratio"] is None else f"{report['live_mae_ratio']:.4f}",
        tracking.MONITOR_AT: report["checked_at"],
        tracking.MONITOR_RUN: run_id,
    })  # fmt: skip
    return run_id


def _figures(report: dict) -> dict[str, Any]:
    # live_mae_ratio and live_coverage are not here: they are stepped per live day, the last step the check's figure
    figures = {
        f"Monitor/{k}": report[k]
        for k in (
            "live_days",
            "test_mae_ratio",
            "threshold",
            "live_dm_pvalue",
            "test_coverage",
            "coverage_pvalue",
        )
        if report.get(k) is not None
    }
    figures |= {"Monitor/decay": float(report["decay"]), "Monitor/drift": float(report["drift"]),
                "Monitor/miscovered": float(report["miscovered"])}  # fmt: skip
    for name, stats in report["drift_inputs"].items():
        figures |= {f"drift/{name}.{k}": v for k, v in stats.items() if k not in ("drifted", "wilder")}
    for side, m in report["strategy"].items():
        figures |= {f"live/{side}.{k}": v for k, v in m.items()}
    return figures


def _remove(folder: Path) -> None:
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def monitor_text(r: dict) -> str:
    """The check in a few lines, as the terminal and the run's description show it."""
    ratio = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
    ratio_pct = lambda v: "n/a" if v is None else f"{v:.1%}"  # noqa: E731
    lines = [
        f"{tracking.model_name(r['ticker'])} v{r['version']} (champion), trained on data through "
        f"{r['data_through']}: {r['verdict'].upper()}",
        f"  live days        {r['live_days']}" + (f"  ({r['first_day']} .. {r['last_day']})" if r["live_days"] else ""),
        f"  MAE / persist.   live {ratio(r['live_mae_ratio'])}   on its test window {ratio(r['test_mae_ratio'])}"
        + ("" if r["live_dm_pvalue"] is None else f"   (Diebold-Mariano p {r['live_dm_pvalue']:.3f})"),
        f"  decay (CUSUM)    {'YES, from ' + r['decay_day'] if r['decay'] else 'no'}: statistic "
        f"{r['cusum']:.2f}, threshold {r['threshold']:.2f}"
        if r["decay_testable"]
        else "  decay (CUSUM)    n/a: the champion forecasts persistence itself (shrink 0): it cannot fall behind",
    ]
    if r.get("interval_level") is not None and r.get("live_coverage") is not None:
        lines.append(
            f"  {r['interval_level']:.0%} interval     {'STOPPED COVERING' if r['miscovered'] else 'ok'}: live "
            f"coverage {r['live_coverage']:.1%} (test window {ratio_pct(r.get('test_coverage'))}), Kupiec p "
            f"{r['coverage_pvalue']:.3g}"
        )
    for name, s in r["drift_inputs"].items():
        flag = ("DRIFTED" if s.get("wilder", True) else "CALMER") if s["drifted"] else "ok"
        known = s["psi"] is not None and s["psi"] == s["psi"]
        lines.append(f"  drift {name:<14}{flag:<8} PSI {s['psi']:.3f}, KS {s['ks_stat']:.3f} (p {s['ks_pvalue']:.2g})"
                     if known else f"  drift {name:<14}n/a (too few days)")  # fmt: skip
    if r["strategy"]:
        s, b = r["strategy"]["strategy"], r["strategy"]["buy_and_hold"]
        lines.append(f"  live strategy    return {s['total_return']:+.1%}, Sharpe {s['sharpe']:.2f}   "
                     f"buy and hold {b['total_return']:+.1%}, Sharpe {b['sharpe']:.2f}")  # fmt: skip
    if r["verdict"] == "drifted" and not r.get("drift_adverse", True):
        lines.append("  no alarm         the market is calmer than the one the champion learnt: reported, not alarmed")
    if r.get("alarm"):
        lines.append("  alarm            due: the `monitor` flow sends it, and the retrain deployment answers")
    return "\n".join(lines)
