"""Chronological split, training-only scaling and lookback windows.

Sample i is decided at the close of day i: its input is the feature rows
i-lookback+1..i and its target is day i+1 (the next close, or the log or simple
return from close i to close i+1). Samples are split in time order into
train | validation | test; the scalers see training rows only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from stockflow.ticker.features import build_features
from stockflow.ticker.settings import PreprocessParams

if TYPE_CHECKING:  # sklearn loads only where scalers are fitted, not where a trained model is only read
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

SPLITS = ("train", "val", "test")


@dataclass(frozen=True)
class Transform:
    """Everything needed to turn raw prices into model inputs and outputs back into prices."""

    features: tuple[str, ...]
    target: str
    lookback: int
    feature_scaler: MinMaxScaler | StandardScaler
    target_scaler: MinMaxScaler | StandardScaler

    def inputs(self, prices: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Scaled windows, shape (n, lookback, k), for every row with a full window after the features' warm-up,
        and the row each window ends on."""
        feats = build_features(prices, self.features).to_numpy(dtype=float)
        first = first_valid_row(feats)
        if len(prices) - first < self.lookback:
            raise ValueError(
                f"need at least {first + self.lookback} rows for a forecast "
                f"({self.lookback}-day windows of {', '.join(self.features)}); got {len(prices)}"
            )
        return windows(self.feature_scaler.transform(feats[first:]), self.lookback), np.arange(
            first + self.lookback - 1, len(prices)
        )

    def to_price(self, scaled_prediction: np.ndarray, close_today: np.ndarray) -> np.ndarray:
        """Model output (scaled target) -> forecast of the next close."""
        raw = self.target_scaler.inverse_transform(np.asarray(scaled_prediction).reshape(-1, 1))[:, 0]
        close_today = np.asarray(close_today, dtype=float)
        if self.target == "price":
            return raw
        if self.target == "simple_return":
            return close_today * (1.0 + raw)
        return close_today * np.exp(raw)


def windows(scaled: np.ndarray, lookback: int) -> np.ndarray:
    """Every run of `lookback` consecutive rows, shape (n - lookback + 1, lookback, k).

    Window j ends on row j + lookback - 1.
    """
    view = np.lib.stride_tricks.sliding_window_view(scaled, lookback, axis=0).transpose(0, 2, 1)
    return np.ascontiguousarray(view, dtype=np.float32)


ARRAYS = ("x", "y", "dates", "close", "next_close")


@dataclass(frozen=True)
class Dataset:
    """Model-ready arrays per split, plus the price facts needed to judge each sample."""

    x: dict[str, np.ndarray]
    y: dict[str, np.ndarray]
    dates: dict[str, np.ndarray]  # decision day of each sample
    close: dict[str, np.ndarray]  # close on the decision day
    next_close: dict[str, np.ndarray]  # close on the day after (the truth)
    transform: Transform

    def sizes(self) -> dict[str, int]:
        return {split: len(self.y[split]) for split in SPLITS}

    def arrays(self) -> dict[str, np.ndarray]:
        """Flat `<array>_<split>` arrays, for storing; `from_arrays` reads them back."""
        return {f"{key}_{split}": getattr(self, key)[split] for key in ARRAYS for split in SPLITS}

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray], transform: Transform) -> Dataset:
        parts = {key: {split: np.asarray(arrays[f"{key}_{split}"]) for split in SPLITS} for key in ARRAYS}
        return cls(**parts, transform=transform)


def target_values(prices: pd.DataFrame, target: str) -> np.ndarray:
    """The quantity learnt for day i: about day i+1, NaN on the last row."""
    close = prices["Close"].to_numpy(dtype=float)
    nxt = np.append(close[1:], np.nan)
    if target == "price":
        return nxt
    if target == "simple_return":
        return nxt / close - 1.0
    return np.log(nxt / close)


def split_counts(n_samples: int, test_fraction: float, val_fraction: float) -> tuple[int, int, int]:
    """Train, validation and test sizes: the last `test_fraction` of samples, then `val_fraction` of the rest."""
    n_test = int(round(n_samples * test_fraction))
    n_val = int(round((n_samples - n_test) * val_fraction))
    n_train = n_samples - n_test - n_val
    if min(n_train, n_val, n_test) < 1:
        raise ValueError(
            f"{n_samples} samples are too few to split into train/validation/test "
            f"with test_fraction={test_fraction} and val_fraction={val_fraction}"
        )
    return n_train, n_val, n_test


def decision_days(prices: pd.DataFrame, params: PreprocessParams) -> tuple[np.ndarray, np.ndarray]:
    """Feature matrix, and the rows that can be samples: a full window of valid features and a known next day."""
    feats = build_features(prices, params.features).to_numpy(dtype=float)
    return feats, np.arange(first_valid_row(feats) + params.lookback - 1, len(prices) - 1)


def first_valid_row(feats: np.ndarray) -> int:
    """The first row after the features' warm-up (indicators need history); later gaps are an error."""
    valid = ~np.isnan(feats).any(axis=1)
    first = int(np.argmax(valid)) if valid.any() else len(feats)
    if not valid[first:].all():
        raise ValueError("features have gaps after their warm-up period")
    return first


def make_dataset(
    prices: pd.DataFrame, params: PreprocessParams, samples: slice = slice(None), n_test: int | None = None
) -> Dataset:
    """Split, fit scalers on the training rows, and window every split.

    `samples` restricts the data to some of the possible samples (a walk-forward
    fold's history and test window); `n_test` fixes the test size instead of
    `test_fraction`.
    """
    prices = prices.reset_index(drop=True)
    feats, decision = decision_days(prices, params)
    decision = decision[samples]
    target = target_values(prices, params.target)
    lookback = params.lookback
    if n_test is None:
        n_train, n_val, n_test = split_counts(len(decision), params.test_fraction, params.val_fraction)
    else:
        n_val = int(round((len(decision) - n_test) * params.val_fraction))
        n_train = len(decision) - n_test - n_val
        if min(n_train, n_val, n_test) < 1:
            raise ValueError(f"{len(decision)} samples are too few for a {n_test}-sample test window")
    bounds = {"train": (0, n_train), "val": (n_train, n_train + n_val), "test": (n_train + n_val, len(decision))}

    # Fit on the rows the training windows contain, and nothing later.
    first_row, last_train_day = decision[0] - lookback + 1, decision[n_train - 1]
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    scaler = MinMaxScaler if params.scaler == "minmax" else StandardScaler
    feature_scaler = scaler().fit(feats[first_row : last_train_day + 1])
    target_scaler = scaler().fit(target[decision[:n_train]].reshape(-1, 1))
    transform = Transform(params.features, params.target, lookback, feature_scaler, target_scaler)

    # all_windows[j] ends on row first_row + j + lookback - 1 == decision[j] (decision days are consecutive).
    all_windows = windows(feature_scaler.transform(feats[first_row : decision[-1] + 1]), lookback)
    y_all = target_scaler.transform(target[decision].reshape(-1, 1))[:, 0]
    close = prices["Close"].to_numpy(dtype=float)
    dates = prices["Date"].to_numpy()
    out: dict[str, dict[str, np.ndarray]] = {k: {} for k in ARRAYS}
    for split, (lo, hi) in bounds.items():
        days = decision[lo:hi]
        out["x"][split] = all_windows[lo:hi]
        out["y"][split] = y_all[lo:hi].astype(np.float32)
        out["dates"][split] = dates[days]
        out["close"][split] = close[days]
        out["next_close"][split] = close[days + 1]
    return Dataset(**out, transform=transform)
