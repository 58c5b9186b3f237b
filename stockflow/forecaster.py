"""A trained network, its transform and its shrink factor: raw daily bars in, next-close forecasts out.

This is what the registered model does: it takes the last raw OHLCV rows and
returns, for every row with a full window of history, the forecast of the next
close. Each forecast uses that row and earlier rows only.

The shrink factor k scales the network's predicted move toward persistence:
forecast = close + k * (network's forecast - close). It is chosen on the
validation window (never the test window) as the k in [0, 1] with the lowest
MAE there; k = 0 is persistence itself, so on the validation window the
forecaster is never worse than "tomorrow = today". `train.shrink: false` keeps k = 1.

With an `interval` (`stockflow/intervals.py`, calibrated by the evaluate stage on the
validation window), each forecast also carries the `lower` and `upper` ends of the
interval for the next close at the interval's level.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from stockflow.backtest import forecast_signals
from stockflow.config import TrainParams
from stockflow.dataset import Dataset, Transform
from stockflow.intervals import Interval
from stockflow.model import EpochCallback, predict, train_model

SHRINK_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


@dataclass(frozen=True)
class Forecaster:
    """What the registered model does: a trained network and its transform, raw bars in, next closes out."""

    model: Any  # a compiled Keras model
    transform: Transform
    shrink: float = 1.0
    interval: Interval | None = None

    def next_closes(self, windows: np.ndarray, close_today: np.ndarray) -> np.ndarray:
        """Next-close forecasts for prepared windows ending on days whose close is `close_today`."""
        close_today = np.asarray(close_today, dtype=float)
        raw = self.transform.to_price(predict(self.model, windows), close_today)
        return close_today + self.shrink * (raw - close_today)

    def forecast(self, prices: pd.DataFrame, threshold: float = 0.0, allow_short: bool = False) -> pd.DataFrame:
        """One row per input day that has a full window: date, close, forecast, expected_return, signal,
        and with an interval its `lower` and `upper` ends."""
        prices = prices.reset_index(drop=True)
        windows, days = self.transform.inputs(prices)
        close = prices["Close"].to_numpy(dtype=float)[days]
        forecast = self.next_closes(windows, close)
        out = pd.DataFrame(
            {
                "date": pd.to_datetime(prices["Date"].to_numpy()[days]),
                "close": close,
                "forecast": forecast,
                "expected_return": forecast / close - 1.0,
                "signal": forecast_signals(close, forecast, threshold, allow_short),
            }
        )
        if self.interval is not None:
            out["lower"], out["upper"] = self.interval.bounds(forecast, self.interval.volatility.scale(prices)[days])
        return out


def shrink_factor(forecast: np.ndarray, close_today: np.ndarray, actual: np.ndarray) -> float:
    """The k in SHRINK_GRID whose forecasts close + k * (forecast - close) have the lowest MAE (smallest on ties)."""
    close_today, move = np.asarray(close_today, float), np.asarray(forecast, float) - np.asarray(close_today, float)
    errors = [np.mean(np.abs(close_today + k * move - np.asarray(actual, float))) for k in SHRINK_GRID]
    return float(SHRINK_GRID[int(np.argmin(errors))])


def fit_forecaster(
    data: Dataset, params: TrainParams, on_epoch: EpochCallback | None = None
) -> tuple[Forecaster, dict[str, list[float]]]:
    """Train the network on `data`, then (with `params.shrink`) choose its shrink factor on the validation window."""
    model, history = train_model(data, params, on_epoch)
    forecaster = Forecaster(model, data.transform)
    if params.shrink:
        val = forecaster.next_closes(data.x["val"], data.close["val"])
        forecaster = replace(forecaster, shrink=shrink_factor(val, data.close["val"], data.next_close["val"]))
    return forecaster, history
