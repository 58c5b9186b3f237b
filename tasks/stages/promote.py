"""Stage `promote`: the gate between the run's model (challenger) and the registry's champion.

Runs last, once the run's model is logged. Under a per-ticker lock, so two
executions of one ticker never judge against the same champion at once:

- a model identical to a registered version (same data, model settings and code:
  `stockflow.model_key`) is not registered again; the run links to that version and
  its gate decision stands;
- otherwise the champion is scored on the challenger's test window from its own
  registered model (raw bars in), under the same trading rules; the model is
  registered as a new version, `challenger` moves to it, and `champion` too if the
  gate says so. The aliases move last: a failure before leaves them alone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pandas as pd

from stockflow.config import Params
from stockflow.headline import headline
from stockflow.prices import REQUIRED
from stockflow.promotion import decide, forecasts_on, score_window
from tasks.services import catalog, tracking
from tasks.services.files import read_json, read_price_file, write_json
from tasks.services.process import deferred_signals
from tasks.services.tracking import Tracker
from tasks.services.workspace import Workspace

STAGE = "promote"


def registry_lock(root: Path, ticker: str):
    """A lock per ticker, beside the project's store (a queued DVC experiment shares its project's)."""
    from filelock import FileLock

    folder = Path(os.environ.get("DVC_ROOT") or root) / ".stockflow" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"registry-{ticker}.lock"))


def compute(ws: Workspace, params: Params, ticker: str, tracker: Tracker, run_id: str, tags: dict[str, str]) -> dict:
    """Apply the gate and register (or link) the run's model; writes the stage summary and the headline file."""
    f = catalog.files(STAGE, ws, ticker)
    with registry_lock(ws.root, ticker):
        existing = tracker.version_with_key(ticker, tags[tracking.MODEL_KEY])
        champion = tracker.champion(ticker)
        if existing is not None:
            stood = existing.tags.get(tracking.GATE, "unknown")
            report = {
                "promote": stood == "promoted",
                "version": int(existing.version),
                "registered": False,
                "champion_version": None if champion is None else int(champion.version),
                "reason": f"identical to v{existing.version} (same data, model settings and code): not registered "
                f"again; its gate decision stands ({stood})",
            }
        else:
            report = _judge(f, params, ticker, tracker, champion)
            with deferred_signals():  # registered and aliases moved, or neither: never cut in two by a signal
                _register(tracker, run_id, ticker, tags, report)
    write_json(f.output(catalog.SUMMARY), report)
    figures = headline(read_json(f.input("evaluate/summary.json")), read_json(f.input("backtest/summary.json")), report)
    write_json(f.headline, figures)
    return report


def _register(tracker: Tracker, run_id: str, ticker: str, tags: dict[str, str], report: dict) -> None:
    """A new version with the gate's verdict; the champion's run told; `challenger` (and maybe `champion`) moved."""
    verdict = "promoted" if report["promote"] else "rejected"
    version = tracker.register(run_id, ticker, {**tags, tracking.GATE: verdict})
    report.update(version=int(version.version), registered=True)
    _tell_champion(tracker, ticker, report)
    tracker.move_alias(ticker, tracking.CHALLENGER, version.version)
    if report["promote"]:
        tracker.move_alias(ticker, tracking.CHAMPION, version.version)


def _judge(f: catalog.StageFiles, params: Params, ticker: str, tracker: Tracker, champion) -> dict:
    """The gate's decision for the challenger against the champion (if any) on the challenger's test window."""
    pred = pd.read_csv(f.input("evaluate/predictions.csv"), parse_dates=["date", "target_date"])
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    prices = read_price_file(f.input(catalog.DATA))
    ours = score_window(prices, test, test["forecast"], params.backtest)
    theirs = None
    if champion is not None:
        model = tracker.load_version(ticker, champion.version)
        theirs = score_window(
            prices,
            test,
            forecasts_on(lambda bars: model.predict(bars[REQUIRED]), prices, test["date"]),
            params.backtest,
        )
    decision = decide(ours, theirs, params.promote)
    return {
        "promote": decision.promote,
        "reason": decision.reason,
        "champion_version": None if champion is None else int(champion.version),
        **decision.figures(),
    }


def _tell_champion(tracker: Tracker, ticker: str, report: dict) -> None:
    """Note the challenge on the champion's run too, so its history shows who tried to replace it."""
    if report["champion_version"] is None:
        return
    champion_run = tracker.version_run_id(ticker, report["champion_version"])
    if champion_run:
        verdict = f"{'promoted' if report['promote'] else 'rejected'} v{report['version']}: {report['reason']}"
        tracker.set_tags(champion_run, {f"stockflow.challenged_by.v{report['version']}": verdict})


def trained_at(start_ms: int) -> str:
    """A run's start (ms since the epoch) as an ISO UTC time: when its model was trained."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
