"""The model's next-close forecasts beside the baseline ladder, and their scores against persistence;
its intervals beside the volatility baselines, and their scores."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from stockflow.data.prices import next_dates
from stockflow.ticker import baselines, intervals
from stockflow.ticker.dataset import Dataset
from stockflow.ticker.forecast_metrics import diebold_mariano, forecast_metrics, mae_ratio, up_share
from stockflow.ticker.forecaster import Forecaster
from stockflow.ticker.intervals import Interval

FORECASTERS = ("forecast", "persistence", "drift", "sma", "ridge", "svr")
SPLITS = ("val", "test")


def rows_of(prices: pd.DataFrame, dates: np.ndarray) -> np.ndarray:
    """The row of `prices` of each decision day in `dates`."""
    row = {d: i for i, d in enumerate(prices["Date"].to_numpy())}
    return np.array([row[d] for d in np.asarray(dates, dtype=prices["Date"].dtype)], dtype=int)


def forecasts(data: Dataset, forecaster: Forecaster, prices: pd.DataFrame, sma_window: int) -> pd.DataFrame:
    """One row per validation and test sample: its day, the day it is about, the truth and every forecaster."""
    ladder = baselines.ladder(
        data,
        prices["Close"].to_numpy(dtype=float),
        {split: rows_of(prices, data.dates[split]) for split in SPLITS},
        sma_window,
    )
    frames = [
        pd.DataFrame(
            {
                "split": split,
                "date": pd.to_datetime(data.dates[split]),
                "close": data.close[split],
                "actual": data.next_close[split],
                "forecast": forecaster.next_closes(data.x[split], data.close[split]),
                **ladder[split],
            }
        )
        for split in SPLITS
    ]
    out = pd.concat(frames, ignore_index=True)
    out.insert(2, "target_date", out["date"].map(next_dates(prices["Date"])))
    return out


def score(pred: pd.DataFrame) -> dict:
    """Test-window metrics of the model and each baseline, ratios to persistence, and the DM test."""
    test = pred[pred["split"] == "test"]
    actual, close = test["actual"].to_numpy(), test["close"].to_numpy()
    table = {name: forecast_metrics(actual, test[name].to_numpy(), close) for name in FORECASTERS}
    base_rmse = table["persistence"]["rmse"]
    for name, row in table.items():
        row["mae_ratio"] = mae_ratio(actual, test[name].to_numpy(), close)
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


def network_losses(data: Dataset, family: Any, model: Any) -> dict[str, float]:
    """The network's own loss (MSE of its scaled output, before the shrink factor) on the validation and test
    windows: what training watched, in its units; a study's trial scores the validation one the same way."""
    out = {}
    for split in ("val", "test"):
        raw = family.predict(model, data.x[split])
        out[f"{split}_loss"] = float(np.mean((np.asarray(raw, dtype=float).ravel() - data.y[split].ravel()) ** 2))
    return out


BOUNDS = {"model": ("lower", "upper"), **{b: (f"{b}_lower", f"{b}_upper") for b in intervals.BASELINES}}


def calibrate_interval(data: Dataset, prices: pd.DataFrame, pred: pd.DataFrame, level: float) -> Interval:
    """The model's interval: its volatility fitted on the training days, its width on the validation days."""
    volatility = intervals.fit_volatility(prices, rows_of(prices, data.dates["train"]))
    val = pred[pred["split"] == "val"]
    scale = volatility.scale(prices)[rows_of(prices, val["date"].to_numpy())]
    return intervals.calibrate(volatility, scale, val["actual"].to_numpy(), val["forecast"].to_numpy(), level)


def with_intervals(pred: pd.DataFrame, prices: pd.DataFrame, interval: Interval) -> pd.DataFrame:
    """`pred` with the model's interval (`lower`, `upper`) and each baseline's (`gaussian_lower`, ...) per day."""
    rows = rows_of(prices, pred["date"].to_numpy())
    out = pred.copy()
    out["lower"], out["upper"] = interval.bounds(out["forecast"], interval.volatility.scale(prices)[rows])
    out["gaussian_lower"], out["gaussian_upper"] = intervals.gaussian_bounds(prices, rows, interval.level)
    out["garch_lower"], out["garch_upper"] = intervals.garch_bounds(interval.volatility, prices, rows, interval.level)
    return out


def score_intervals(pred: pd.DataFrame, interval: Interval) -> dict:
    """Test-window coverage, width and Winkler score of the model's interval and each baseline's, and the
    model's Winkler score as a ratio to the better baseline's (below 1 beats both)."""
    test = pred[pred["split"] == "test"]
    actual, close = test["actual"].to_numpy(), test["close"].to_numpy()
    table = {name: intervals.interval_scores(actual, test[lo], test[hi], close, interval.level)
             for name, (lo, hi) in BOUNDS.items()}  # fmt: skip
    best = min(table[b]["winkler"] for b in intervals.BASELINES)
    return {
        "level": interval.level,
        "q": interval.q,
        "calibration_days": interval.calibration_days,
        **table,
        "winkler_ratio": table["model"]["winkler"] / best,
    }
