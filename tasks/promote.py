"""Stage `promote`: register the run's model as `challenger`, and make it `champion` if the gate says so.

The champion is scored on the challenger's test window with the same rules:
its forecasts come from the registered model itself (raw bars in), so a champion
trained with other features or another preset is judged fairly.
"""

from __future__ import annotations

import time

import pandas as pd

from stockflow.config import Params
from stockflow.promotion import Gate, Scores, decide, score_window
from tasks import registry, tracking
from tasks.backtest import rules_from
from tasks.evaluate import load_predictions
from tasks.prices_io import read_price_file
from tasks.project import Project, read_json, write_json

STAGE = "promote"


def gate_from(params: Params) -> Gate:
    p = params.promote
    return Gate(p.max_mae_ratio, p.min_mae_gain, p.min_sharpe_gain)


def window_scores(prices: pd.DataFrame, test: pd.DataFrame, forecast: pd.Series, params: Params) -> Scores:
    p = params.backtest
    frame = test.assign(forecast=forecast.to_numpy())
    return score_window(prices, frame, rules_from(p), p.threshold, p.risk_free_rate)


def champion_forecasts(model, prices: pd.DataFrame, test: pd.DataFrame) -> pd.Series:
    """The champion's next-close forecasts for the test decision days, from raw bars up to the window's end."""
    upto = prices[prices["Date"] <= test["target_date"].max()]
    out = model.predict(registry.model_input(upto))
    found = out.set_index("date")["forecast"].reindex(pd.DatetimeIndex(test["date"]))
    if found.isna().any():
        raise ValueError(f"the champion cannot forecast {int(found.isna().sum())} test days (too little history)")
    return found


def compute(project: Project, params: Params, ticker: str) -> dict:
    pred = load_predictions(project, ticker)
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    prices = read_price_file(project.data_file(ticker))
    challenger = window_scores(prices, test, test["forecast"], params)
    champion_version = registry.champion_version(ticker)
    champion = None
    if champion_version is not None:
        model = registry.load_version(ticker, champion_version.version)
        champion = window_scores(prices, test, champion_forecasts(model, prices, test), params)
    decision = decide(challenger, champion, gate_from(params))
    report = {
        "promote": decision.promote,
        "reason": decision.reason,
        "champion_version": None if champion_version is None else int(champion_version.version),
        **decision.figures(),
    }
    write_json(project.metrics_file(ticker, STAGE), report)
    return report


def record(project: Project, params: Params, ticker: str) -> None:
    """Register, tag both runs, then move the aliases: the last step, so a failure above leaves them alone."""
    import mlflow

    report = read_json(project.metrics_file(ticker, STAGE))
    run = mlflow.active_run().info
    run_id = run.run_id
    tags = {
        "stockflow.run_id": run_id,
        # The run opened just before training: its start is the model's training date.
        "stockflow.trained_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(run.start_time / 1000)),
        "stockflow.gate": "promoted" if report["promote"] else "rejected",
        **tracking.data_version(project, ticker),
    }
    version = registry.register(run_id, ticker, tags)
    report["version"] = int(version.version)
    write_json(project.metrics_file(ticker, STAGE), report)
    verdict = f"{'promoted' if report['promote'] else 'rejected'} v{version.version}: {report['reason']}"
    figures = {k: v for k, v in report.items() if isinstance(v, float)}
    tracking.log_stage_metrics(STAGE, figures)
    mlflow.set_tags({"stockflow.promotion": verdict, "stockflow.model_version": str(version.version)})
    if report["champion_version"] is not None:
        champion_run = registry.version_run_id(ticker, report["champion_version"])
        if champion_run:
            mlflow.MlflowClient().set_tag(
                champion_run, f"stockflow.challenged_by.v{version.version}", f"{verdict} {figures}"[:4000]
            )
    registry.move_alias(ticker, registry.CHALLENGER, version.version)
    if report["promote"]:
        registry.move_alias(ticker, registry.CHAMPION, version.version)


def promote(project: Project, params: Params, ticker: str, run_id: str, final: bool = True) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        compute(project, params, ticker)
        record(project, params, ticker)
    return read_json(project.metrics_file(ticker, STAGE))
