"""A trained model, its transform, its shrink factor and its interval: raw daily bars in, next-close forecasts out.

This is what the registered model does: it takes the last raw OHLCV rows and
returns, for every row with a full window of history, the forecast of the next
close. Each forecast uses that row and earlier rows only. The model is any family
of `stockflow/models/` (`architecture` names it).

The shrink factor k scales the network's predicted move toward persistence:
forecast = close + k * (network's forecast - close). It is chosen on the
validation window (never the test window) as the k in [0, 1] with the lowest
MAE there; k = 0 is persistence itself, so on the validation window the
forecaster is never worse than "tomorrow = today". `train.shrink: false` keeps k = 1.

With an `interval` (`stockflow/ticker/intervals.py`, calibrated by the evaluate stage on the
validation window), each forecast also carries the `lower` and `upper` ends of the
interval for the next close, and its `level`.

One artifact (`dump`, `load`): a zip of `forecaster.json` (the architecture, shrink
factor, interval and its level), `model` (the family's bytes) and `transform.joblib`.
The train stage writes it without an interval, the evaluate stage with one; the
registered model, `predict` and the monitor read that one file.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from stockflow import archive, models
from stockflow.models.settings import TrainParams
from stockflow.ticker.dataset import Dataset, Transform
from stockflow.ticker.intervals import Interval
from stockflow.trading.backtest import forecast_signals

SHRINK_GRID = np.round(np.linspace(0.0, 1.0, 21), 2)


@dataclass(frozen=True)
class Forecaster:
    """What the registered model does: a trained model and its transform, raw bars in, next closes out."""

    architecture: str  # the model's family (`stockflow/models/`)
    model: Any
    transform: Transform
    shrink: float = 1.0
    interval: Interval | None = None

    @property
    def family(self) -> models.Family:
        return models.family(self.architecture)

    def next_closes(self, windows: np.ndarray, close_today: np.ndarray) -> np.ndarray:
        """Next-close forecasts for prepared windows ending on days whose close is `close_today`."""
        close_today = np.asarray(close_today, dtype=float)
        raw = self.transform.to_price(self.family.predict(self.model, windows), close_today)
        return close_today + self.shrink * (raw - close_today)

    def forecast(self, prices: pd.DataFrame, threshold: float = 0.0, allow_short: bool = False) -> pd.DataFrame:
        """One row per input day that has a full window: date, close, forecast, expected_return, signal,
        and with an interval its `lower` and `upper` ends and its `level`."""
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
            out["level"] = self.interval.level
        return out


def shrink_factor(forecast: np.ndarray, close_today: np.ndarray, actual: np.ndarray) -> float:
    """The k in SHRINK_GRID whose forecasts close + k * (forecast - close) have the lowest MAE (smallest on ties)."""
    close_today, move = np.asarray(close_today, float), np.asarray(forecast, float) - np.asarray(close_today, float)
    errors = [np.mean(np.abs(close_today + k * move - np.asarray(actual, float))) for k in SHRINK_GRID]
    return float(SHRINK_GRID[int(np.argmin(errors))])


def fit_forecaster(
    data: Dataset, params: TrainParams, on_epoch: models.EpochCallback | None = None
) -> tuple[Forecaster, models.History]:
    """Train the model on `data`, then (with `params.shrink`) choose its shrink factor on the validation window."""
    model, history = models.family(params.architecture).fit(data, params, on_epoch)
    forecaster = Forecaster(params.architecture, model, data.transform)
    if params.shrink:
        val = forecaster.next_closes(data.x["val"], data.close["val"])
        forecaster = replace(forecaster, shrink=shrink_factor(val, data.close["val"], data.next_close["val"]))
    return forecaster, history


_MANIFEST, _MODEL, _TRANSFORM = "forecaster.json", "model", "transform.joblib"


def dump(forecaster: Forecaster) -> bytes:
    """The forecaster as one zip, the same bytes for the same forecaster (entries dated 1980, in a fixed order)."""
    import joblib

    transform = io.BytesIO()
    joblib.dump(forecaster.transform, transform)
    manifest = {
        "architecture": forecaster.architecture,
        "shrink": forecaster.shrink,
        "interval": None if forecaster.interval is None else forecaster.interval.to_dict(),
        "lookback": forecaster.transform.lookback,
        "features": list(forecaster.transform.features),
        "target": forecaster.transform.target,
    }
    return archive.pack(
        _MANIFEST, manifest, {_MODEL: forecaster.family.dump(forecaster.model), _TRANSFORM: transform.getvalue()}
    )


def manifest(blob: bytes) -> dict[str, Any]:
    """What a dumped forecaster says of itself (architecture, shrink, interval, lookback, ...), without its model."""
    return archive.manifest(_MANIFEST, blob)


def load(blob: bytes) -> Forecaster:
    """The forecaster `dump` gave these bytes for."""
    import joblib

    meta, parts = archive.unpack(_MANIFEST, blob)
    model = models.family(meta["architecture"]).load(parts[_MODEL])
    transform = joblib.load(io.BytesIO(parts[_TRANSFORM]))
    interval = Interval.from_dict(meta["interval"]) if meta["interval"] else None
    return Forecaster(meta["architecture"], model, transform, float(meta["shrink"]), interval)
