"""Stage `evaluate`: test-window forecasts of the model beside a ladder of naive and classical baselines;
the model's interval calibrated on the validation window, scored on the test window beside volatility baselines.
The forecaster with its interval is the one the run registers (`forecaster.zip`)."""

from __future__ import annotations

import dataclasses

import pandas as pd

from stockflow.config import Params
from stockflow.ticker import evaluation, robustness
from tasks.services import catalog
from tasks.services.files import load_dataset, read_price_file, save_figure, write_csv, write_json
from tasks.services.model_files import load_forecaster, save_forecaster
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "evaluate",
    "test-window forecasts of the model beside persistence, drift, SMA, ridge and SVR; its interval calibrated "
    "on the validation window, scored beside Gaussian and GARCH intervals",
    reads=(catalog.DATA, "preprocess/dataset.npz", "preprocess/transform.joblib", "train/forecaster.zip"),
    writes=(
        "predictions.csv",
        "forecaster.zip",
        "walk_forward.csv",
        "predicted_vs_actual.png",
        "interval_band.png",
        catalog.SUMMARY,
    ),
    params=("preset", "presets", "preprocess", "train", "evaluate"),
    logged=("predictions.csv", "walk_forward.csv", "predicted_vs_actual.png", "interval_band.png"),
    trains=True,  # the seed spread and the walk-forward refits
)
WALK_FORWARD_COLUMNS = ["fold", "date", "close", "actual", "forecast", "train_samples"]


def compute(ws: Workspace, params: Params, ticker: str) -> dict:
    """Forecast the validation and test windows with the model and the baselines; score them; robustness checks."""
    from stockflow.reporting import plots

    f = catalog.files(STAGE, ws, ticker)
    data = load_dataset(f.input("preprocess/dataset.npz"), f.input("preprocess/transform.joblib"))
    prices = read_price_file(f.input(catalog.DATA))
    forecaster = load_forecaster(f.input("train/forecaster.zip"))
    pred = evaluation.forecasts(data, forecaster, prices, params.evaluate.sma_window)
    interval = evaluation.calibrate_interval(data, prices, pred, params.evaluate.interval_level)
    pred = evaluation.with_intervals(pred, prices, interval)
    write_csv(pred, f.output("predictions.csv"))
    save_forecaster(dataclasses.replace(forecaster, interval=interval), f.output("forecaster.zip"))
    report = {
        **evaluation.score(pred),
        "interval": evaluation.score_intervals(pred, interval),
        **evaluation.network_losses(data, forecaster.family, forecaster.model),
    }

    ev = params.evaluate
    if ev.seeds > 1:
        seeds = range(params.train.seed, params.train.seed + ev.seeds)
        report["seeds"] = robustness.seed_report(data, params.train, seeds)
    walk = pd.DataFrame(columns=WALK_FORWARD_COLUMNS)
    if ev.walk_forward_folds:
        walk = robustness.walk_forward(
            prices, params.preprocess, params.train, ev.walk_forward_folds, ev.walk_forward_window
        )
        report["walk_forward"] = {"window": ev.walk_forward_window, **robustness.walk_forward_report(walk)}
    write_csv(walk, f.output("walk_forward.csv"))

    test = pred[pred["split"] == "test"]
    save_figure(plots.predicted_vs_actual(test, f"{ticker}: next-day forecast"), f.output("predicted_vs_actual.png"))
    save_figure(plots.interval_band(test, report["interval"], f"{ticker}: next-close interval"),
                f.output("interval_band.png"))  # fmt: skip
    write_json(f.output(catalog.SUMMARY), report)
    return report
