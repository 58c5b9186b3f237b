"""The scheduled job: take new bars from the drop folder, and retrain only if there are any, or on an alarm.

`prefect.yaml` deploys this flow as `retrain`, on weekdays after the US close, and with
a trigger on the monitor's alarm events (`flows/monitor.py`): then `reason` and
`monitor_run_id` come from the event, and the ticker is retrained whether or not new
bars arrived; its MLflow run records the trigger `alarm`, the reason and the monitor run.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE

from flows.retrain import retrain
from flows.tagging import default_ticker, tag_this_flow_run
from tasks.services.workspace import Workspace, project_root


@task(name="take_new_bars", cache_policy=NO_CACHE)  # no retries: bad bars stay bad, and a local folder does not flake
def take_new_bars(root: str, ticker: str) -> dict[str, Any]:
    """Validated new bars appended to data/<ticker>.csv and recorded as a new DVC data version."""
    from tasks.commands.ingest import take_new_bars as take

    ws = Workspace.project(root)
    taken = take(ws, ws.load_params(), ticker)
    logger = get_run_logger()
    logger.info("%s: %d new bar(s) from %s", ticker, taken["new_rows"], ", ".join(taken["files"]) or "-")
    for name, notes in taken.get("normalised", {}).items():
        logger.info("%s normalised: %s", name, "; ".join(notes))
    return taken


@task(name="take_market_downloads", cache_policy=NO_CACHE)
def take_market_downloads(root: str, universe: str) -> dict[str, Any]:
    """A whole market's downloads for `universe` in the drop folder (a Stooq archive, a panel file) ingested: every
    ticker's new days, bad bars masked and named, the universe's tickers as the download has them."""
    from tasks.commands.ingest_market import take_market_downloads as take

    ws = Workspace.project(root)
    taken = take(ws, ws.load_params(), universe)
    for line in taken["lines"]:
        get_run_logger().info("%s", line)
    return taken


def _flow_run_name() -> str:
    """`schedule sp500`, or `alarm sp500: decayed` when the monitor's event started it."""
    p = runtime.flow_run.parameters
    ticker = p.get("ticker") or default_ticker(p.get("root")) or "default ticker"
    reason = p.get("reason")
    return f"alarm {ticker}: {reason.split(':')[0]}" if reason else f"schedule {ticker}"


@flow(name="scheduled-retrain", flow_run_name=_flow_run_name, log_prints=True)
def scheduled_retrain(ticker: str | None = None, root: str | None = None, reason: str | None = None,
                      monitor_run_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """New bars in, then validate, retrain, evaluate, backtest and gate: when bars came in, or on an alarm."""
    from tasks.services import tracking

    root_path = str(project_root(root))
    ticker = ticker or Workspace.project(root_path).load_params().data.tickers[0]
    tag_this_flow_run(ticker, "kind:schedule", f"trigger:{'alarm' if reason else 'schedule'}")
    taken = take_new_bars(root_path, ticker)
    if reason:
        get_run_logger().warning("%s: retraining on the monitor's alarm: %s", ticker, reason)
        links = {tracking.ALARM_REASON: reason, tracking.ALARM_RUN: monitor_run_id or "unknown"}
        return {"retrained": True, **taken, **retrain(ticker, root_path, [], None, trigger="alarm", links=links)}
    if not taken["new_rows"]:
        get_run_logger().info("no bars newer than %s for %s: nothing to retrain", taken["last_date"], ticker)
        return {"ticker": ticker, "retrained": False, **taken}
    return {"retrained": True, **taken, **retrain(ticker, root_path, [], None, trigger="schedule")}


@flow(name="scheduled-universe-retrain", flow_run_name=lambda: _universe_run_name(), log_prints=True)
def scheduled_universe_retrain(universe: str, root: str | None = None, reason: str | None = None,
                               monitor_run_id: str | None = None) -> dict[str, Any]:  # fmt: skip
    """New bars for every ticker of the universe, then retrain it: when any came in, or on the monitor's alarm."""
    from flows.universe import retrain_universe
    from tasks.services import tracking

    root_path = str(project_root(root))
    params = Workspace.project(root_path).load_params()
    tag_this_flow_run(f"universe:{universe}", "kind:schedule", f"trigger:{'alarm' if reason else 'schedule'}")
    market = take_market_downloads(root_path, universe)  # a whole download first: it may change the members
    params = Workspace.project(root_path).load_params()
    taken = {t: take_new_bars(root_path, t) for t in params.universes.get(universe, ())}
    new = market["new_rows"] + sum(t["new_rows"] for t in taken.values())
    if reason:
        get_run_logger().warning("universe %s: retraining on the monitor's alarm: %s", universe, reason)
        links = {tracking.ALARM_REASON: reason, tracking.ALARM_RUN: monitor_run_id or "unknown"}
        return {"retrained": True, "new_rows": new, **retrain_universe(universe, root_path, [], None, trigger="alarm",
                                                                       links=links)}  # fmt: skip
    if not new:
        get_run_logger().info("no new bars for universe %s: nothing to retrain", universe)
        return {"universe": universe, "retrained": False, "new_rows": 0}
    return {"retrained": True, "new_rows": new, **retrain_universe(universe, root_path, [], None, trigger="schedule")}


def _universe_run_name() -> str:
    """`schedule universe sp20`, or `alarm universe sp20: decayed`."""
    p = runtime.flow_run.parameters
    reason = p.get("reason")
    return (
        f"alarm universe {p.get('universe')}: {reason.split(':')[0]}"
        if reason
        else f"schedule universe {p.get('universe')}"
    )
