"""Stage `evaluate`: test-window forecasts of the model beside a ladder of naive and classical baselines."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockflow import baselines
from stockflow.config import Params, flatten
from stockflow.forecast_metrics import diebold_mariano, forecast_metrics, up_share
from stockflow.model import predict
from tasks import tracking
from tasks.preprocess import load as load_dataset
from tasks.prices_io import read_price_file
from tasks.project import Project, read_json, write_json
from tasks.train import load_model

STAGE = "evaluate"


def forecasts(project: Project, params: Params, ticker: str) -> pd.DataFrame:
    """Model and baseline forecasts of the next close for every validation and test sample."""
    data = load_dataset(project, ticker)
    model = load_model(project, ticker)
    prices = read_price_file(project.data_file(ticker))
    row = {d: i for i, d in enumerate(prices["Date"].to_numpy())}
    splits = ("val", "test")
    ladder = baselines.ladder(
        data,
        prices["Close"].to_numpy(dtype=float),
        {split: np.array([row[d] for d in data.dates[split]]) for split in splits},
        params.evaluate.sma_window,
    )
    frames = [
        pd.DataFrame(
            {
                "split": split,
                "date": pd.to_datetime(data.dates[split]),
                "close": data.close[split],
                "actual": data.next_close[split],
                "forecast": data.transform.to_price(predict(model, data.x[split]), data.close[split]),
                **ladder[split],
            }
        )
        for split in splits
    ]
    out = pd.concat(frames, ignore_index=True)
    next_dates = dict(zip(prices["Date"].iloc[:-1], prices["Date"].iloc[1:], strict=False))
    out.insert(2, "target_date", out["date"].map(next_dates))
    return out


FORECASTERS = ("forecast", "persistence", "drift", "sma", "ridge", "svr")


def score(pred: pd.DataFrame) -> dict:
    test = pred[pred["split"] == "test"]
    actual, close = test["actual"].to_numpy(), test["close"].to_numpy()
    table = {name: forecast_metrics(actual, test[name].to_numpy(), close) for name in FORECASTERS}
    base_mae, base_rmse = table["persistence"]["mae"], table["persistence"]["rmse"]
    for row in table.values():
        row["mae_ratio"] = row["mae"] / base_mae
        row["rmse_ratio"] = row["rmse"] / base_rmse
    dm, p = diebold_mariano(actual, test["forecast"].to_numpy(), test["persistence"].to_numpy())
    model = table.pop("forecast")
    return {
        "model": model,
        "baselines": table,
        "mae_ratio": model["mae_ratio"],
        "up_share": up_share(actual, close),
        "dm_stat": dm,
        "dm_pvalue": p,
        "test_days": int(len(test)),
    }


def compute(project: Project, params: Params, ticker: str) -> dict:
    pred = forecasts(project, params, ticker)
    out = project.out_dir(ticker, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    pred.to_csv(out / "predictions.csv", index=False, lineterminator="\n", float_format="%.6f")
    metrics = score(pred)
    metrics.update(robustness_checks(project, params, ticker))
    write_json(project.metrics_file(ticker, STAGE), metrics)
    return metrics


def robustness_checks(project: Project, params: Params, ticker: str) -> dict:
    """Optional: the same split retrained with several seeds; walk-forward refits over several test folds."""
    from stockflow import robustness

    ev, found = params.evaluate, {}
    if ev.seeds > 1:
        seeds = range(params.train.seed, params.train.seed + ev.seeds)
        found["seeds"] = robustness.seed_report(load_dataset(project, ticker), params.train, seeds)
    out = project.out_dir(ticker, STAGE) / "walk_forward.csv"
    out.unlink(missing_ok=True)
    if ev.walk_forward_folds:
        prices = read_price_file(project.data_file(ticker))
        wf = robustness.walk_forward(
            prices, params.preprocess, params.train, ev.walk_forward_folds, ev.walk_forward_window
        )
        wf.to_csv(out, index=False, lineterminator="\n", float_format="%.6f")
        found["walk_forward"] = {"window": ev.walk_forward_window, **robustness.walk_forward_report(wf)}
    return found


def load_predictions(project: Project, ticker: str) -> pd.DataFrame:
    return pd.read_csv(project.out_dir(ticker, STAGE) / "predictions.csv", parse_dates=["date", "target_date"])


def record(project: Project, params: Params, ticker: str) -> None:
    from stockflow import plots

    tracking.log_stage_metrics(STAGE, flatten(read_json(project.metrics_file(ticker, STAGE))))
    pred = load_predictions(project, ticker)
    test = pred[pred["split"] == "test"]
    tracking.log_figure(
        plots.predicted_vs_actual(test, f"{ticker}: next-day forecast on the test window"),
        "plots/predicted_vs_actual.png",
    )
    tracking.log_file(project.out_dir(ticker, STAGE) / "predictions.csv", "evaluate")
    if (project.out_dir(ticker, STAGE) / "walk_forward.csv").exists():
        tracking.log_file(project.out_dir(ticker, STAGE) / "walk_forward.csv", "evaluate")


def evaluate(project: Project, params: Params, ticker: str, run_id: str, final: bool = False) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        metrics = compute(project, params, ticker)
        record(project, params, ticker)
    return metrics
