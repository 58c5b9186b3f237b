"""The scheduled job: take new bars from the drop folder, and retrain only if there are any.

`prefect.yaml` deploys this flow as `retrain`, on weekdays after the US close.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task

from flows.retrain import retrain
from tasks.project import Project


@task(name="take_new_bars")  # no retries: bad bars stay bad, and a local folder does not flake
def take_new_bars(root: str, ticker: str) -> dict[str, Any]:
    """Validated new bars appended to data/<ticker>.csv and recorded as a new DVC data version."""
    from tasks.ingest import take_new_bars as take

    project = Project(Path(root))
    return take(project, project.load_params(), ticker)


@flow(name="scheduled-retrain", log_prints=True)
def scheduled_retrain(ticker: str | None = None, root: str = ".") -> dict[str, Any]:
    """New bars in, then validate, retrain, evaluate, backtest and gate; nothing to do without new bars."""
    root = str(Path(root).resolve())
    ticker = ticker or Project(Path(root)).load_params().data.ticker
    taken = take_new_bars(root, ticker)
    if not taken["new_rows"]:
        get_run_logger().info("no bars newer than %s for %s: nothing to retrain", taken["last_date"], ticker)
        return {"ticker": ticker, "retrained": False, **taken}
    return {"retrained": True, **taken, **retrain(ticker=ticker, root=root)}
