"""Stage `promote`: record the run from the stages' files, then the gate between its model and the champion.

Runs last, into the execution's open MLflow run (`ws.run_id`). It logs every earlier
stage's figures and files (`tasks/services/record.py`) and the registered model, then,
under a per-ticker lock, so two executions of one ticker never judge against the same
champion at once:

- a model identical to a registered version (same data, model settings and code:
  `stockflow.model_key`) is not registered again; the run links to that version and
  its gate decision stands;
- otherwise the champion is scored on the challenger's test window from its own
  registered model (raw bars in), under the same trading rules; the model is
  registered as a new version, `challenger` moves to it, and `champion` too if the
  gate says so. The aliases move last: a failure before leaves them alone.
"""

from __future__ import annotations

import pandas as pd

from stockflow.champion.promotion import decide, forecasts_on, score_window
from stockflow.config import Params
from stockflow.data.prices import REQUIRED
from stockflow.reporting.headline import for_mlflow, headline
from tasks.services import catalog, registry, tracking
from tasks.services.files import read_json, read_price_file, write_json
from tasks.services.tracking import Tracker
from tasks.services.workspace import Workspace, md5

STAGE = catalog.Stage(
    "promote",
    "records the run in MLflow from the files above, then applies the gate: registers the model "
    "(unless an identical one is) and moves the aliases",
    reads=(
        catalog.DATA,
        "validate/report.json",
        "validate/report.md",
        "validate/prices.png",
        "validate/summary.json",
        "preprocess/summary.json",
        "train/history.csv",
        "train/loss_curves.png",
        "train/summary.json",
        "evaluate/predictions.csv",
        "evaluate/forecaster.zip",
        "evaluate/walk_forward.csv",
        "evaluate/predicted_vs_actual.png",
        "evaluate/interval_band.png",
        "evaluate/summary.json",
        "backtest/equity.csv",
        "backtest/trades.csv",
        "backtest/search.csv",
        "backtest/equity.png",
        "backtest/trades.png",
        "backtest/search_heatmap.png",
        "backtest/summary.json",
    ),
    writes=(catalog.SUMMARY,),
    # What the run records is every setting but the watchlist itself: adding a ticker re-runs only its stages.
    params=("preset", "presets", "validate", "preprocess", "train", "evaluate", "backtest", "promote", "mlflow"),
)


def registered(ticker: str) -> str:
    """A ticker's key in the registry (its model `stockflow-<ticker>`) and in metrics/: its own name."""
    return ticker


def compute(ws: Workspace, params: Params, ticker: str) -> dict:
    """Record the run, log its model, apply the gate and register (or link) the model; writes the stage summary and
    the headline file, and logs both."""
    if ws.run_id is None:
        raise RuntimeError("the promote stage records into its execution's run: begin the execution first")
    f = catalog.files(STAGE, ws, ticker)
    tracker = tracking.tracker_for(ws.root, params)
    tracker.log_forecaster(
        ws.run_id,
        f.input("evaluate/forecaster.zip"),
        {"threshold": params.backtest.threshold, "allow_short": params.backtest.allow_short},
        {"ticker": ticker, "model_key": tracker.get_run(ws.run_id).data.tags[tracking.MODEL_KEY]},
    )
    tags = version_tags(f, tracker, ws.run_id)
    report = registry.gated(ws.root, tracker, ws.run_id, ticker, tags,
                            lambda champion: _judge(f, params, ticker, tracker, champion))  # fmt: skip
    write_json(f.output(catalog.SUMMARY), report)
    figures = headline(read_json(f.input("evaluate/summary.json")), read_json(f.input("backtest/summary.json")), report)
    write_json(ws.headline_file(registered(ticker)), figures)
    verdict = f"{'promoted' if report['promote'] else 'rejected'} v{report['version']}: {report['reason']}"
    tracker.log_metrics(ws.run_id, {**{f"{STAGE.name}/{k}": v for k, v in report.items()}, **for_mlflow(figures)})
    tracker.set_tags(ws.run_id, {tracking.PROMOTION: verdict, tracking.MODEL_VERSION: report["version"]})
    return report


def version_tags(f: catalog.StageFiles, tracker: Tracker, run_id: str) -> dict[str, str]:
    """What a registered version says of itself: its identity and data, when it was trained, and what it was
    trained and judged on (the monitor's live days start after its data's last bar)."""
    run = tracker.get_run(run_id)
    pre, ev = read_json(f.input("preprocess/summary.json")), read_json(f.input("evaluate/summary.json"))
    return {
        tracking.MODEL_KEY: run.data.tags[tracking.MODEL_KEY],
        tracking.DATA_VERSION: run.data.tags.get(tracking.DATA_VERSION, "unknown"),
        tracking.DATA_FILE_MD5: md5(f.input(catalog.DATA)),
        tracking.TRAINED_AT: registry.trained_at(run.info.start_time),
        "stockflow.run_id": run_id,
        tracking.DATA_THROUGH: pre["data_through"],
        tracking.TRAIN_WINDOW: f"{pre['train_start']}..{pre['train_end']}",
        tracking.TEST_WINDOW: f"{pre['test_start']}..{pre['test_end']}",
        tracking.TEST_MAE_RATIO: repr(float(ev["mae_ratio"])),
        tracking.TEST_COVERAGE: repr(float(ev["interval"]["model"]["coverage"])),
    }


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
    return {"promote": decision.promote, "reason": decision.reason, **decision.figures()}
