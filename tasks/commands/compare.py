"""`stockflow runs`: the last runs of a ticker side by side in the terminal, read from MLflow."""

from __future__ import annotations

import datetime as dt

from stockflow.config import Params
from tasks.services import tracking
from tasks.services.tracking import tracker_for
from tasks.services.workspace import Workspace

COLUMNS = (
    ("Headline/mae_pct", "MAE %pers", "{:.2f}"),
    ("Headline/dm_p", "DM p", "{:.3f}"),
    ("Headline/cover_pct", "cover %", "{:.1f}"),
    ("Headline/winkler_pct", "Wink %base", "{:.1f}"),
    ("Headline/sharpe", "Sharpe", "{:.2f}"),
    ("Headline/return_pct", "return %", "{:.1f}"),
    ("Headline/bh_return_pct", "B&H %", "{:.1f}"),
    ("Headline/max_dd_pct", "max DD %", "{:.1f}"),
)


def recent_runs_table(ws: Workspace, params: Params, ticker: str, limit: int) -> str:
    """One line per run, newest first: start, name, status, model version (* = champion now), headline figures."""
    tracker = tracker_for(ws.root, params)
    found = tracker.recent_runs(ticker, limit)
    if not found:
        return f"no runs of {ticker} yet in {tracker.uri}: `stockflow run --ticker {ticker}`"
    champion = tracker.aliases(ticker).get(tracking.CHAMPION)
    width = min(max(len(r.data.tags.get(tracking.RUN_NAME, "")) for r in found), 40)
    head = f"  {'started':<17}{'name':<{width + 2}}{'status':<10}{'model':>6}" + "".join(
        f"{label:>11}" for _, label, _ in COLUMNS
    )
    lines = [f"runs of {ticker}, newest first (* = champion now)", head]
    for run in found:
        tags, metrics = run.data.tags, run.data.metrics
        version = tags.get(tracking.MODEL_VERSION, "")
        model = f"v{version}{'*' if version and version == champion else ''}" if version else "-"
        started = dt.datetime.fromtimestamp(run.info.start_time / 1000).strftime("%Y-%m-%d %H:%M")
        name = tags.get(tracking.RUN_NAME, run.info.run_id[:8])[:width]
        cells = "".join(f"{fmt.format(metrics[key]) if key in metrics else 'n/a':>11}" for key, _, fmt in COLUMNS)
        lines.append(f"  {started:<17}{name:<{width + 2}}{run.info.status:<10}{model:>6}{cells}")
    return "\n".join(lines)
