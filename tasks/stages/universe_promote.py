"""Stage `universe_promote`: record a universe's run from its stages' files, then the gate between its model and the
champion of `stockflow-universe-NAME`.

As for a ticker (tasks/stages/promote.py), under a per-universe lock: a model identical to
a registered version (same data, settings and code) is not registered again; otherwise the
champion scores the challenger's test window from its own registered model (every
ticker's raw rows in), and the gate (stockflow/champion/promotion.py: `decide_universe`) asks for a
positive test Rank IC with a t-statistic of at least `universe.promote.min_rank_ic_t`, above
the best naive baseline's (chosen on validation) on the same days, and no less than the
champion's. The aliases move last.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockflow.champion.promotion import decide_universe
from stockflow.config import Params
from stockflow.reporting.headline import for_mlflow, universe_headline
from stockflow.universe import ranking
from tasks.services import catalog, registry, tracking
from tasks.services.files import load_panel, read_json, write_json
from tasks.services.tracking import Tracker
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "universe_promote",
    "records the run in MLflow from the files above, then the gate: a positive test Rank IC with a t-statistic of "
    "at least universe.promote.min_rank_ic_t, and no worse than the champion on the same days",
    reads=(
        "universe_validate/report.json",
        "universe_validate/report.md",
        "universe_validate/masked.csv",
        "universe_validate/summary.json",
        "universe_preprocess/summary.json",
        "universe_train/history.csv",
        "universe_train/loss_curves.png",
        "universe_train/summary.json",
        "universe_evaluate/ic.csv",
        "universe_evaluate/cumulative_ic.png",
        "universe_evaluate/summary.json",
        "universe_preprocess/panel.npz",
        "universe_backtest/ranker.zip",
        "universe_backtest/equity.csv",
        "universe_backtest/search.csv",
        "universe_backtest/equity.png",
        "universe_backtest/summary.json",
    ),
    writes=(catalog.SUMMARY,),
    params=(
        "preset",
        "presets",
        "validate",
        "universes",
        "universe",
        "backtest.commission",
        "backtest.slippage",
        "mlflow",
    ),
)

PREFIX = "universe-"  # a universe's key in the registry and in metrics/: apart from any ticker's name


def registered(name: str) -> str:
    """A universe's key in the registry (its model `stockflow-universe-<name>`) and in metrics/."""
    return f"{PREFIX}{name}"


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Record the run, log its model, apply the gate and register (or link) it; the stage summary and headline."""
    if ws.run_id is None:
        raise RuntimeError("the promote stage records into its execution's run: begin the execution first")
    f = catalog.files(STAGE, ws, name)
    key = registered(name)
    tracker = tracking.tracker_for(ws.root, params)
    run = tracker.get_run(ws.run_id)
    tracker.log_ranker(ws.run_id, f.input("universe_backtest/ranker.zip"),
                       {"universe": name, "model_key": run.data.tags[tracking.MODEL_KEY]})  # fmt: skip
    evaluate = read_json(f.input("universe_evaluate/summary.json"))
    challenger = evaluate["test"]["model"]["rank_ic"]
    tags = _version_tags(f, run, challenger)
    report = registry.gated(ws.root, tracker, ws.run_id, key, tags,
                            lambda champion: _judge(f, params, tracker, key, champion, evaluate))  # fmt: skip
    write_json(f.output(catalog.SUMMARY), report)
    figures = universe_headline(evaluate, read_json(f.input("universe_backtest/summary.json")), report)
    write_json(ws.headline_file(key), figures)
    verdict = f"{'promoted' if report['promote'] else 'rejected'} v{report['version']}: {report['reason']}"
    tracker.log_metrics(ws.run_id, {**{f"{STAGE.name}/{k}": v for k, v in report.items()}, **for_mlflow(figures)})
    tracker.set_tags(ws.run_id, {tracking.PROMOTION: verdict, tracking.MODEL_VERSION: report["version"]})
    return report


def _judge(f: catalog.StageFiles, params: Params, tracker: Tracker, key: str, champion, evaluate: dict) -> dict:
    """The gate (stockflow/champion/promotion.py: `decide_universe`) on the challenger's test Rank IC, the champion's
    on the
    same days and the best naive baseline's (chosen on validation)."""
    challenger = evaluate["test"]["model"]["rank_ic"]
    theirs = None if champion is None else _champion_rank_ic(f, tracker, key, champion)
    best = evaluate["best_baseline"]
    decision = decide_universe(challenger, theirs, params.universe.promote, (best, evaluate["test"][best]["rank_ic"]))
    return {"promote": decision.promote, "reason": decision.reason, **decision.figures()}


def _version_tags(f: catalog.StageFiles, run, challenger: dict) -> dict[str, str]:
    """What a registered universe version says of itself: identity, data, when trained, its windows, its Rank IC."""
    pre = read_json(f.input("universe_preprocess/summary.json"))
    return {
        tracking.MODEL_KEY: run.data.tags[tracking.MODEL_KEY],
        tracking.DATA_VERSION: run.data.tags.get(tracking.DATA_VERSION, "unknown"),
        tracking.DATA_FILE_MD5: run.data.tags.get(tracking.DATA_FILE_MD5, ""),
        tracking.TRAINED_AT: registry.trained_at(run.info.start_time),
        "stockflow.run_id": run.info.run_id,
        tracking.TICKERS: run.data.tags.get(tracking.TICKERS, ""),
        tracking.DATA_THROUGH: pre["data_through"],
        tracking.TRAIN_WINDOW: f"{pre['train_start']}..{pre['train_end']}",
        tracking.TEST_WINDOW: f"{pre['test_start']}..{pre['test_end']}",
        tracking.TEST_RANK_IC: repr(float(challenger["mean"])),
    }


def _champion_rank_ic(f: catalog.StageFiles, tracker: Tracker, key: str, champion) -> dict:
    """The champion's Rank IC on the challenger's test days and samples, from its own registered model."""
    data = load_panel(f.input("universe_preprocess/panel.npz"))
    panel, days = data.panel, data.split_days["test"]
    rows = pd.concat([pd.DataFrame({"Date": pd.to_datetime(panel.dates), "Close": panel.close[:, i], "Ticker": t})
                      .dropna(subset=["Close"]) for i, t in enumerate(panel.tickers)], ignore_index=True)  # fmt: skip
    if not panel.close_only:
        rows["Open"] = np.concatenate([panel.open[:, i][~np.isnan(panel.close[:, i])]
                                       for i in range(len(panel.tickers))])  # fmt: skip
    ranked = tracker.load_version(key, champion.version).predict(rows[rows["Date"] <= panel.dates[days[-1]]])
    scores = ranked.pivot(index="date", columns="ticker", values="score").reindex(
        index=pd.DatetimeIndex(panel.dates), columns=list(panel.tickers)).to_numpy()  # fmt: skip
    w = data.windows["test"]
    same = np.full(scores.shape, np.nan)
    same[w.date, w.ticker] = scores[w.date, w.ticker]  # the challenger's samples, no others
    outcome = panel.outcome(data.transform.horizon)
    return ranking.scorecard(ranking.daily_ic(same, outcome, days, panel.dates))["rank_ic"]
