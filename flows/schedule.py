"""The scheduled job: take new bars from the drop folder, and retrain only if there are any.

`prefect.yaml` deploys this flow as `retrain`, on weekdays after the US close.
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from flows.retrain import run_retrain
from tasks.workspace import Workspace, project_root


@task(name="take_new_bars", cache_policy=NO_CACHE)  # no retries: bad bars stay bad, and a local folder does not flake
def take_new_bars(root: str, ticker: str) -> dict[str, Any]:
    """Validated new bars appended to data/<ticker>.csv and recorded as a new DVC data version."""
    from tasks.ingest import take_new_bars as take

    ws = Workspace.project(root)
    taken = take(ws, ws.load_params(), ticker)
    get_run_logger().info("%s: %d new bar(s) from %s", ticker, taken["new_rows"], ", ".join(taken["files"]) or "-")
    return taken


@flow(name="scheduled-retrain", log_prints=True)
def scheduled_retrain(ticker: str | None = None, root: str | None = None) -> dict[str, Any]:
    """New bars in, then validate, retrain, evaluate, backtest and gate; nothing to do without new bars."""
    root_path = str(project_root(root))
    ticker = ticker or Workspace.project(root_path).load_params().data.tickers[0]
    taken = take_new_bars(root_path, ticker)
    if not taken["new_rows"]:
        get_run_logger().info("no bars newer than %s for %s: nothing to retrain", taken["last_date"], ticker)
        return {"ticker": ticker, "retrained": False, **taken}
    return {"retrained": True, **taken, **run_retrain(ticker, root_path, [], None, trigger="schedule")}
