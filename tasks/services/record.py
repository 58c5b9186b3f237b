"""A run's record in MLflow, built from an execution's files as the catalog declares them.

Stages only write files; this is the one place that turns them into a run:
every stage's summary numbers as `<stage>/<key>` metrics, the per-epoch curves,
the headline figures under `Headline/`, the figures at the artifact root (where
MLflow's compare view can put runs side by side) and the tables under the
stage's name. Whatever exists is recorded, so a failed run shows how far it got.
"""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd

from stockflow.config import flatten
from stockflow.reporting.headline import for_mlflow
from tasks.services import catalog
from tasks.services.files import read_json
from tasks.services.tracking import Tracker
from tasks.services.workspace import Workspace

# Per-epoch curves: the two losses people compare across runs (their own chart section, `Loss`, right after
# `Headline`), and the MAE Keras reports, in scaled units unlike evaluate's MAE in price points.
CURVES = {
    "loss": "Loss/training",
    "val_loss": "Loss/validation",
    "mae": "train/mae_scaled",
    "val_mae": "train/val_mae_scaled",
}


def summaries(ws: Workspace, ticker: str, stages: tuple[catalog.Stage, ...]) -> dict[str, dict]:
    """Each finished stage's summary, by stage name (a stage that did not finish has none)."""
    found = {}
    for s in stages:
        path = ws.stage_dir(ticker, s.name) / catalog.SUMMARY
        if path.is_file():
            found[s.name] = read_json(path)
    return found


def log_stages(tracker: Tracker, run_id: str, ws: Workspace, ticker: str, stages: tuple[catalog.Stage, ...],
               upto: str | None = None, headline: Callable[[dict], dict] | None = None) -> list[str]:  # fmt: skip
    """Log every stage up to `upto` (default: all but the last, which records) that left a summary; the names of
    those logged.

    With `headline` (the kind's: its figures from the stages' summaries), also the headline figures known so far (a
    run that stops before its last stage); a run that gets there logs them once, complete, there.
    """
    done = summaries(ws, ticker, stages)
    names = [s.name for s in stages]
    logged = []
    for s in stages[: names.index(upto) + 1 if upto else len(stages) - 1]:
        folder = ws.stage_dir(ticker, s.name)
        for name in s.logged:
            path = folder / name
            if path.is_file():
                tracker.log_file(run_id, path, None if name in s.figures else s.name)
        if s.name not in done:
            continue
        tracker.log_metrics(run_id, {f"{s.name}/{k}": v for k, v in flatten(done[s.name]).items()})
        if "history.csv" in s.writes and (folder / "history.csv").is_file():  # a training stage's curves
            tracker.log_curves(run_id, pd.read_csv(folder / "history.csv"), CURVES)
        logged.append(s.name)
    known = headline(done) if headline else {}
    if known:
        tracker.log_metrics(run_id, for_mlflow(known))
    return logged
