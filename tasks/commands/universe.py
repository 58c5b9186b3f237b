"""A universe's champion at work: `stockflow predict --universe NAME` (tomorrow's target portfolio) and
`stockflow monitor --universe NAME` (live Rank IC and excess over equal weight, a decay test, an alarm).

Both read `models:/stockflow-universe-NAME@champion` and the price files of its tickers
(each validated first, by its suite), and let the registered model itself score every
(date, ticker) and serve its target weights: the same pyfunc users load.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow.champion import universe_monitoring
from stockflow.config import Params, flatten
from stockflow.data.prices import next_session
from stockflow.errors import MonitorError, PredictError, StockflowError
from stockflow.universe.panel import Panel, align
from tasks.commands.monitor import log_check_files
from tasks.commands.predict import registry_champion
from tasks.services import tracking
from tasks.services.files import strict
from tasks.services.tracking import monitor_tracker_for
from tasks.services.workspace import Workspace
from tasks.stages import universe_promote
from tasks.stages.validate import ticker_prices

EVENT_PREFIX = "stockflow.universe."  # a universe's alarm: stockflow.universe.<verdict>, about stockflow.universe.NAME


def key(name: str) -> str:
    """A universe's key in the registry (its model: stockflow-universe-NAME)."""
    return universe_promote.registered(name)


def _champion(ws: Workspace, params: Params, name: str, refusal: type[StockflowError], what: str):
    tracker, version = registry_champion(
        ws,
        params,
        key(name),
        refusal,
        f"{what}: `stockflow run --universe {name}` trains one, and it becomes champion once it passes the gate",
    )
    return tracker, version, tuple(filter(None, (version.tags or {}).get(tracking.TICKERS, "").split(",")))


def _rows(ws: Workspace, params: Params, tickers: tuple[str, ...], refusal: type[StockflowError], what: str):
    """Every ticker's validated rows as one frame with a Ticker column and the columns the registered model takes
    (no others: MLflow would warn of each). Under validate.universe_policy `mask` the bars are checked as training
    checked them: a bad bar is masked, a ticker the universe cannot use left out."""
    if params.validate_.universe_policy == "refuse":
        frames = {t: ticker_prices(ws, params, t, refusal, what, closes_only=True) for t in tickers}
    else:
        from stockflow.data import bars
        from tasks.services.files import read_price_file

        missing = [t for t in tickers if not ws.project_data_file(t).is_file()]
        if missing:
            raise refusal(f"no data for {', '.join(missing)}: no {what} (`stockflow ingest` its bars first)")
        frames = {t: read_price_file(ws.project_data_file(t)) for t in tickers}
        v = params.validate_
        checked = bars.check(bars.long_frame(frames), v.max_abs_return, v.max_gap_days, v.min_rows, v.max_bad_share)
        frames = bars.mask({t: frames[t] for t in checked.kept}, checked.findings)
    columns = [
        c for c in ("Date", "Close", "Open", "High", "Low", "Volume") if all(c in f.columns for f in frames.values())
    ]
    return pd.concat([f[columns].assign(Ticker=t) for t, f in frames.items()], ignore_index=True)


def _scored(model: Any, rows: pd.DataFrame, tickers: tuple[str, ...]) -> tuple[Panel, np.ndarray, np.ndarray]:
    """The panel of the rows, and the registered model's (T, N) scores and served weights on it."""
    panel = align({t: rows[rows["Ticker"] == t] for t in tickers if t in set(rows["Ticker"])})
    out = model.predict(rows)
    index, columns = pd.DatetimeIndex(panel.dates), list(panel.tickers)
    table = lambda col: out.pivot(index="date", columns="ticker", values=col).reindex(index=index, columns=columns)  # noqa: E731
    return panel, table("score").to_numpy(), table("weight").to_numpy()


@dataclass(frozen=True)
class TargetPortfolio:
    """Tomorrow's portfolio of a universe's champion: each ticker's score and target weight, and where it comes from."""

    universe: str
    model: str
    version: int
    trained_at: str
    data_version: str
    last_date: str
    target_date: str
    calendar: str
    holdings: list[dict[str, Any]]  # ticker, score, weight (> 0), best first
    scores: list[dict[str, Any]]  # every ticker scored on the last date, best first
    monitor: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_text(self) -> str:
        lines = [
            f"{self.model} v{self.version} (champion), trained {self.trained_at}, data version {self.data_version}",
            f"  last bar      {self.last_date}; target portfolio for {self.target_date} (the next {self.calendar} "
            "session):",
        ]
        lines += [f"    {h['ticker']:<10}{h['weight']:>8.1%}   score {h['score']:+.4f}" for h in self.holdings]
        unheld = [s["ticker"] for s in self.scores if s["ticker"] not in {h["ticker"] for h in self.holdings}]
        lines.append(f"  not held      {', '.join(unheld) or '-'}")
        lines.append(f"  monitor: {self.monitor}")
        return "\n".join(lines)


def target_portfolio(
    ws: Workspace, params: Params, name: str, allow_stale: bool = False, today: dt.date | None = None
) -> TargetPortfolio:
    """The champion's target weights for the session after the universe's last bar; PredictError if not honest."""
    tracker, version, tickers = _champion(ws, params, name, PredictError, "yet")
    rows = _rows(ws, params, tickers, PredictError, "portfolio")
    last = rows["Date"].max().date()
    age = ((today or dt.date.today()) - last).days
    if age > params.predict.max_stale_days and not allow_stale:
        raise PredictError(
            f"universe {name}'s data is stale: its last bar is {last}, {age} days ago (limit "
            f"predict.max_stale_days = {params.predict.max_stale_days}). Drop new bars in "
            f"{params.data.drop_folder}/, or pass --allow-stale."
        )
    panel, scores, weights = _scored(tracker.load_version(key(name), version.version), rows, tickers)
    order = np.argsort(-np.nan_to_num(scores[-1], nan=-np.inf))
    board = [
        {"ticker": panel.tickers[i], "score": float(scores[-1, i]), "weight": float(np.nan_to_num(weights[-1, i]))}
        for i in order
        if not np.isnan(scores[-1, i])
    ]
    tags = version.tags or {}
    return TargetPortfolio(
        name,
        tracking.model_name(key(name)),
        int(version.version),
        tags.get(tracking.TRAINED_AT, "unknown"),
        tags.get(tracking.DATA_VERSION, "unknown"),
        str(last),
        str(next_session(pd.Timestamp(last), params.predict.calendar).date()),
        params.predict.calendar,
        [b for b in board if b["weight"] > 0],
        board,
        tags.get(tracking.MONITOR_VERDICT, "never checked (`stockflow monitor --universe`)"),
    )


def check(ws: Workspace, params: Params, name: str, trigger: str = "cli", links: dict | None = None) -> dict:
    """Check the champion of universe `name` on its live days and record the check as a monitor run; the report."""
    tracker, version, tickers = _champion(ws, params, name, MonitorError, "to monitor")
    tags = version.tags or {}
    rows = _rows(ws, params, tickers, MonitorError, "check")
    model = tracker.load_version(key(name), version.version)
    panel, scores, weights = _scored(model, rows, tickers)
    horizon = model.unwrap_python_model().ranker.transform.horizon  # what its scores were trained to rank
    dates = pd.DatetimeIndex(panel.dates)
    start, end = (pd.Timestamp(d) for d in tags[tracking.TEST_WINDOW].split(".."))
    test_days = np.flatnonzero((dates >= start) & (dates <= end))
    live = np.flatnonzero(dates >= pd.Timestamp(tags[tracking.DATA_THROUGH]))[:-1]  # decisions with a next day
    result, trail = universe_monitoring.check(
        panel,
        scores,
        weights,
        test_days,
        live,
        params.monitor,
        params.backtest.commission,
        params.backtest.slippage,
        horizon,
    )
    last_alarm = tags.get(tracking.MONITOR_ALARMED, "")
    since = None if not last_alarm else int((trail["date"] > pd.Timestamp(last_alarm.split()[0])).sum())
    alarm = result.verdict == "decayed" and (since is None or since >= params.monitor.cooldown_days)
    report = {
        "universe": name,
        "version": int(version.version),
        **result.to_dict(),
        "alarm": alarm,
        "data_through": tags[tracking.DATA_THROUGH],
        "checked_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    report["run_id"] = _record(ws, params, report, trail, trigger, links or {})
    return strict(report)


def text(r: dict) -> str:
    """A universe's check in a few lines."""
    num = lambda v, f: "n/a" if v is None else format(v, f)  # noqa: E731
    return "\n".join(
        [
            f"{tracking.model_name(key(r['universe']))} v{r['version']} (champion), trained on data through "
            f"{r['data_through']}: {r['verdict'].upper()}",
            f"  live days        {r['live_days']}"
            + (f"  ({r['first_day']} .. {r['last_day']})" if r["live_days"] else ""),
            f"  Rank IC          live {num(r['live_rank_ic'], '.4f')} (t {num(r['live_rank_ic_t'], '.2f')})   "
            f"on its test window {r['test_rank_ic']:.4f}",
            f"  decay (CUSUM)    {'YES, from ' + r['decay_day'] if r['decay'] else 'no'}: statistic {r['cusum']:.2f}, "
            f"threshold {r['threshold']:.2f}",
            f"  live portfolio   {num(r['live_excess'], '+.1%')} a year over equal weight (IR "
            f"{num(r['live_information_ratio'], '.2f')}), net of costs",
            *(
                ["  alarm            due: the `monitor` flow sends it, and the retrain-universe deployment answers"]
                if r["alarm"]
                else []
            ),
        ]
    )


def reason(r: dict) -> str:
    """The alarm in a line."""
    return (
        f"decayed: live Rank IC {r['live_rank_ic']:.4f} over {r['live_days']} days (test window "
        f"{r['test_rank_ic']:.4f}); CUSUM {r['cusum']:.1f} > {r['threshold']:.1f} since {r['decay_day']}"
    )


def note_alarm(ws: Workspace, params: Params, report: dict) -> None:
    """Remember on the version that it raised an alarm today (its cool-down counts from this day)."""
    day = report["last_day"] or str(dt.date.today())
    registry = tracking.tracker_for(ws.root, params)
    registry.set_version_tags(
        key(report["universe"]),
        report["version"],
        {tracking.MONITOR_ALARMED: f"{day} decayed", tracking.MONITOR_ALARMS: "decayed"},
    )


def _record(ws: Workspace, params: Params, report: dict, trail: pd.DataFrame, trigger: str, links: dict) -> str:
    """The check as a monitor run (figures, the live Rank IC day by day, the plot) and on the version."""
    from stockflow.reporting import plots

    name, version = report["universe"], report["version"]
    tracker, registry = monitor_tracker_for(ws.root, params), tracking.tracker_for(ws.root, params)
    tags = {
        **links,
        tracking.KIND: tracking.MONITOR,
        tracking.UNIVERSE: name,
        tracking.TRIGGER: trigger,
        tracking.MODEL_VERSION: str(version),
        "stockflow.verdict": report["verdict"],
        tracking.NOTE: f"```\n{text(report)}\n```",
    }
    run_id = tracker.open_run(
        f"monitor universe {name} v{version}: {report['verdict']}",
        flatten({"monitor": params.monitor.model_dump()}),
        tags,
    )
    try:
        numbers = {f"Monitor/{k}": v for k, v in report.items() if isinstance(v, (int, float)) and k != "version"}
        tracker.log_metrics(run_id, numbers)
        if len(trail):
            stamps = (pd.to_datetime(trail["date"]) - pd.Timestamp(0)) // pd.Timedelta(milliseconds=1)
            tracker.log_series(
                run_id, {"Monitor/live_rank_ic": trail["cum_rank_ic"], "Monitor/cusum": trail["cusum"]}, stamps
            )
        title = f"universe {name} v{version}: live Rank IC, summed day by day"
        figure = plots.cumulative_ic(trail.assign(scorer="model"), title)
        log_check_files(ws, tracker, run_id, key(name), {**report, "run_id": run_id}, trail, figure)
        tracker.finish(run_id)
    except BaseException as exc:
        tracker.finish(run_id, failure=f"{type(exc).__name__}: {exc}")
        raise
    registry.set_version_tags(
        key(name),
        version,
        {
            tracking.MONITOR_VERDICT: report["verdict"],
            tracking.MONITOR_AT: report["checked_at"],
            tracking.MONITOR_RUN: run_id,
        },
    )
    return run_id
