"""A watchlist execution on file and in MLflow: one parent run, each ticker's run a child of it, the table on it.

Each ticker is an ordinary execution (`tasks/services/execution.py`) with the parent's id;
`flows/watchlist.py` runs them side by side. Here: the parent run, the
cross-ticker table (CSV and a chart) logged on it, and the data version recorded
once every ticker that validated has.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockflow.config import Params
from stockflow.errors import UsageError, check_ticker
from stockflow.reporting import watchlist
from tasks.kinds import TICKER
from tasks.services import dvc_repo, provenance, tracking
from tasks.services.failures import failure_reason
from tasks.services.files import save_figure, write_csv
from tasks.services.tracking import tracker_for
from tasks.services.workspace import Workspace, md5


@dataclass(frozen=True)
class Watchlist:
    """A watchlist in flight: its tickers, settings (loaded once) and parent run."""

    root: Path
    tickers: tuple[str, ...]
    params: Params
    run_id: str
    name: str
    overrides: tuple[str, ...] = ()
    started: float = field(default_factory=time.time)


def tickers_in(root: Path) -> tuple[str, ...]:
    """Every price file of data/ whose name is a ticker (`--all`)."""
    found = tuple(sorted(p.stem for p in (root / "data").glob("*.csv")))
    if not found:
        raise UsageError(f"no price files in {root / 'data'}: `stockflow ingest` some first")
    return tuple(check_ticker(t, where=f"data/{t}.csv") for t in found)


def begin(root: Path | str, tickers: list[str], overrides: list[str], name: str | None, trigger: str,
          links: dict[str, str] | None = None) -> Watchlist:  # fmt: skip
    """Check the names, load the settings, open the parent run (RUNNING)."""
    root = Path(root).resolve()
    tickers = tuple(check_ticker(t) for t in tickers)
    if len(set(tickers)) != len(tickers):
        raise UsageError(f"a ticker is listed twice: {', '.join(tickers)}")
    params = Workspace.project(root).load_params(overrides)
    tracker = tracker_for(root, params)  # creates the store and experiment here, before workers race to
    tracker.fail_dead_runs()
    code_tags, _ = provenance.code_version(root)
    settings = provenance.describe("watchlist", params, root, TICKER)
    run_name = name or f"{settings} ({len(tickers)} tickers)"
    tags = {**code_tags, **(links or {}), tracking.WATCHLIST: ",".join(tickers), tracking.TRIGGER: trigger,
            tracking.PRESET: params.preset, tracking.SETTINGS: settings}  # fmt: skip
    run_id = tracker.open_run(run_name, provenance.recorded_params(params, TICKER), tags)
    version = dvc_repo.data_version(root)
    for ticker in tickers:  # every ticker's data on the parent too: its *Dataset* column lists the watchlist's
        data = Workspace.project(root).project_data_file(ticker)
        if data.is_file():
            tracker.log_dataset(run_id, data, ticker, md5(data), version, context="watchlist")
    return Watchlist(root, tickers, params, run_id, run_name, tuple(overrides))


def conclude(w: Watchlist, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Log the table and its chart on the parent run, record the data version, end the parent run."""
    from stockflow.reporting import plots

    tracker = tracker_for(w.root, w.params)
    frame = watchlist.table(rows)
    ws = Workspace.private(w.root, "watchlist")
    try:
        write_csv(frame, ws.work / "watchlist.csv", float_format="%.4f")
        tracker.log_file(w.run_id, ws.work / "watchlist.csv")
        title = f"{w.name}: each ticker's test window"
        save_figure(plots.watchlist_chart(frame, title), ws.work / "watchlist.png")
        tracker.log_file(w.run_id, ws.work / "watchlist.png")
    finally:
        ws.remove()
    tracker.fail_dead_runs()  # a worker that died mid-ticker left its run RUNNING
    ok = frame[frame["status"] == "ok"]
    counts = {"tickers_ok": len(ok), "tickers_failed": len(frame) - len(ok),
              "tickers_beating_persistence": int((ok["mae_pct"] < 100).sum())}  # fmt: skip
    tracker.log_metrics(w.run_id, {f"Headline/{k}": v for k, v in counts.items()})
    _record_data_version(w, dict(zip(ok["ticker"], ok["data_md5"], strict=True)))
    failed = frame[frame["status"] != "ok"]
    text = watchlist.text(frame)
    tracker.set_tags(w.run_id, {tracking.NOTE: "```\n" + text + "\n```"})
    failure = None
    if len(failed):
        failure = f"{len(failed)} of {len(frame)} tickers failed: " + "; ".join(
            f"{r['ticker']} ({r['reason']})" for r in failed.to_dict("records")
        )
    tracker.finish(w.run_id, failure=failure)
    return {"run_id": w.run_id, "name": w.name, "table": frame, "text": text, "failed": failed["ticker"].tolist()}


def _record_data_version(w: Watchlist, finished: dict[str, str]) -> None:
    """Every ticker that finished validated its price file (as its md5 says): data.dvc may name them together."""
    validated = {f"{t}.csv": digest for t, digest in finished.items()}
    if dvc_repo.is_repo(w.root) and validated:
        dvc_repo.record_data(w.root, validated)


def abort(w: Watchlist, exc: BaseException) -> None:
    tracker_for(w.root, w.params).finish(w.run_id, failure=failure_reason(exc))


def after_stop(root: Path | str, params: Params) -> None:
    """After a stopped watchlist: the runs its workers left RUNNING, FAILED (a LocalCluster's workers die at once)."""
    tracker_for(Path(root), params).fail_dead_runs()
