"""Is one result luck? Walk-forward refits over several test windows, and retraining with several seeds.

Walk-forward: the test samples are cut into consecutive folds; before each,
scalers and model are refitted on the samples before it (all of them, or the
same number each time with `window="rolling"`) and the fold is forecast.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from stockflow.models.settings import TrainParams
from stockflow.ticker.dataset import Dataset, decision_days, make_dataset, split_counts
from stockflow.ticker.forecast_metrics import versus_persistence
from stockflow.ticker.forecaster import fit_forecaster
from stockflow.ticker.settings import PreprocessParams


def train_and_forecast(data: Dataset, params: TrainParams, split: str = "test") -> np.ndarray:
    """A fresh forecaster's next-close forecasts for `split` (shrink factor included, as the pipeline's)."""
    forecaster, _ = fit_forecaster(data, params)
    return forecaster.next_closes(data.x[split], data.close[split])


def fold_slices(n_samples: int, test_fraction: float, folds: int, window: str) -> list[tuple[slice, int]]:
    """(samples to use, test size) per fold, covering the last `test_fraction` of samples in order."""
    _, _, n_test = split_counts(n_samples, test_fraction, 0.5)
    history = n_samples - n_test
    out = []
    for part in np.array_split(np.arange(history, n_samples), folds):
        start = 0 if window == "expanding" else part[0] - history
        out.append((slice(start, part[-1] + 1), len(part)))
    return out


def walk_forward(
    prices: pd.DataFrame, pre: PreprocessParams, train: TrainParams, folds: int, window: str = "expanding"
) -> pd.DataFrame:
    """Out-of-sample forecasts of every test sample, each from a model fitted before its fold."""
    _, decision = decision_days(prices.reset_index(drop=True), pre)
    frames = []
    for k, (samples, n_test) in enumerate(fold_slices(len(decision), pre.test_fraction, folds, window), 1):
        data = make_dataset(prices, pre, samples=samples, n_test=n_test)
        frames.append(
            pd.DataFrame(
                {
                    "fold": k,
                    "date": pd.to_datetime(data.dates["test"]),
                    "close": data.close["test"],
                    "actual": data.next_close["test"],
                    "forecast": train_and_forecast(data, train),
                    "train_samples": len(data.y["train"]),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def walk_forward_report(forecasts: pd.DataFrame) -> dict:
    """Each fold's figures against persistence, and the pooled figures over all folds."""
    folds = []
    for k, fold in forecasts.groupby("fold"):
        row = versus_persistence(*(fold[c].to_numpy() for c in ("actual", "forecast", "close")))
        folds.append(
            {"fold": int(k), "start": str(fold["date"].iloc[0].date()), "end": str(fold["date"].iloc[-1].date()),
             "train_samples": int(fold["train_samples"].iloc[0]), **row}
        )  # fmt: skip
    pooled = versus_persistence(*(forecasts[c].to_numpy() for c in ("actual", "forecast", "close")))
    return {"folds": folds, "pooled": pooled}


def seed_report(data: Dataset, train: TrainParams, seeds: Iterable[int]) -> dict:
    """The same split retrained with each seed: per-seed figures, then mean and spread (sample std)."""
    runs = []
    for seed in seeds:
        forecast = train_and_forecast(data, train.model_copy(update={"seed": seed}))
        runs.append({"seed": seed, **versus_persistence(data.next_close["test"], forecast, data.close["test"])})
    summary = {}
    for key in ("mae", "mae_ratio", "direction_accuracy"):
        values = np.array([r[key] for r in runs], dtype=float)
        summary[f"{key}_mean"] = float(values.mean())
        summary[f"{key}_std"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
    return {"runs": runs, **summary}
