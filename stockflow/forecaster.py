"""A trained network and its transform, from raw daily bars to next-close forecasts.

This is what the registered model does: it takes the last raw OHLCV rows and
returns, for every row with a full window of history, the forecast of the next
close. Each forecast uses that row and earlier rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from stockflow.backtest import forecast_signals
from stockflow.dataset import Transform
from stockflow.model import predict


@dataclass(frozen=True)
class Forecaster:
    """What the registered model does: a trained network and its transform, raw bars in, next closes out."""

    model: Any  # a compiled Keras model
    transform: Transform

    def forecast(self, prices: pd.DataFrame, threshold: float = 0.0, allow_short: bool = False) -> pd.DataFrame:
        """One row per input day that has a full window: date, close, forecast, expected_return, signal."""
        prices = prices.reset_index(drop=True)
        windows, days = self.transform.inputs(prices)
        close = prices["Close"].to_numpy(dtype=float)[days]
        forecast = self.transform.to_price(predict(self.model, windows), close)
        return pd.DataFrame(
            {
                "date": pd.to_datetime(prices["Date"].to_numpy()[days]),
                "close": close,
                "forecast": forecast,
                "expected_return": forecast / close - 1.0,
                "signal": forecast_signals(close, forecast, threshold, allow_short),
            }
        )
