"""A trained network and its transform, from raw daily bars to next-close forecasts.

This is what the registered model does: it takes the last raw OHLCV rows and
returns, for every row with a full window of history, the forecast of the next
close. Each forecast uses that row and earlier rows only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow.backtest import forecast_signals
from stockflow.dataset import Transform
from stockflow.features import build_features


@dataclass(frozen=True)
class Forecaster:
    model: Any  # a compiled Keras model
    transform: Transform

    def forecast(self, prices: pd.DataFrame, threshold: float = 0.0, allow_short: bool = False) -> pd.DataFrame:
        """One row per input day that has a full window: date, close, forecast, expected_return, signal."""
        prices = prices.reset_index(drop=True)
        tf = self.transform
        feats = build_features(prices, tf.features).to_numpy(dtype=float)
        valid = ~np.isnan(feats).any(axis=1)
        first = int(np.argmax(valid)) if valid.any() else len(prices)
        if len(prices) - first < tf.lookback or not valid[first:].all():
            raise ValueError(
                f"need at least {first + tf.lookback} rows without gaps for a forecast "
                f"({tf.lookback}-day windows of {', '.join(tf.features)}); got {len(prices)}"
            )
        scaled = tf.feature_scaler.transform(feats[first:])
        windows = np.lib.stride_tricks.sliding_window_view(scaled, tf.lookback, axis=0).transpose(0, 2, 1)
        days = np.arange(first + tf.lookback - 1, len(prices))
        close = prices["Close"].to_numpy(dtype=float)[days]
        raw = np.asarray(
            self.model.predict(np.ascontiguousarray(windows, dtype=np.float32), verbose=0, batch_size=1024)
        )
        forecast = tf.to_price(raw[:, 0], close)
        return pd.DataFrame(
            {
                "date": pd.to_datetime(prices["Date"].to_numpy()[days]),
                "close": close,
                "forecast": forecast,
                "expected_return": forecast / close - 1.0,
                "signal": forecast_signals(close, forecast, threshold, allow_short),
            }
        )
