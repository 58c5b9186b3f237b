"""The model's next-close forecasts beside the baseline ladder, and their scores against persistence."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockflow import baselines
from stockflow.dataset import Dataset
from stockflow.forecast_metrics import diebold_mariano, forecast_metrics, mae_ratio, up_share
from stockflow.forecaster import Forecaster
from stockflow.prices import next_dates

FORECASTERS = ("forecast", "persistence", "drift", "sma", "ridge", "svr")
SPLITS = ("val", "test")


def forecasts(data: Dataset, forecaster: Forecaster, prices: pd.DataFrame, sma_window: int) -> pd.DataFrame:
    """One row per validation and test sample: its day, the day it is about, the truth and every forecaster."""
    row = {d: i for i, d in enumerate(prices["Date"].to_numpy())}
    ladder = baselines.ladder(
        data,
        prices["Close"].to_numpy(dtype=float),
        {split: np.array([row[d] for d in data.dates[split]]) for split in SPLITS},
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
