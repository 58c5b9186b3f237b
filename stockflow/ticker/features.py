"""Model inputs computed from each day's own and earlier bars only.

Every feature in FEATURES is causal: its value on day t is a function of rows
0..t. `tests/core/test_dataset.py` checks this for every feature by changing the future.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

Feature = Callable[[pd.DataFrame], pd.Series]


def _log_return(df: pd.DataFrame) -> pd.Series:
    return np.log(df["Close"]).diff()


def _rsi(df: pd.DataFrame) -> pd.Series:
    from ta.momentum import RSIIndicator

    return RSIIndicator(df["Close"], window=14, fillna=False).rsi()


def _williams_r(df: pd.DataFrame) -> pd.Series:
    from ta.momentum import WilliamsRIndicator

    return WilliamsRIndicator(df["High"], df["Low"], df["Close"], lbp=14).williams_r()


def _cci(df: pd.DataFrame) -> pd.Series:
    from ta.trend import CCIIndicator

    return CCIIndicator(df["High"], df["Low"], df["Close"], window=20).cci()


def _sma_gap(window: int) -> Feature:
    # The close relative to its moving average is scale-free, unlike the average itself.
    return lambda df: df["Close"] / df["Close"].rolling(window).mean() - 1.0


FEATURES: dict[str, Feature] = {
    "open": lambda df: df["Open"],
    "high": lambda df: df["High"],
    "low": lambda df: df["Low"],
    "close": lambda df: df["Close"],
    "volume": lambda df: df["Volume"].astype(float),
    "log_volume": lambda df: np.log1p(df["Volume"].astype(float)),
    "log_return": _log_return,
    "range": lambda df: (df["High"] - df["Low"]) / df["Close"],
    "body": lambda df: (df["Close"] - df["Open"]) / df["Open"],
    "sma_10": lambda df: df["Close"].rolling(10).mean(),
    "sma_50": lambda df: df["Close"].rolling(50).mean(),
    "sma_10_gap": _sma_gap(10),
    "sma_50_gap": _sma_gap(50),
    "rsi_14": _rsi,
    "roc_10": lambda df: df["Close"].pct_change(10),
    "williams_r": _williams_r,
    "cci_20": _cci,
    "volatility_20": lambda df: _log_return(df).rolling(20).std(),
    "day_of_week": lambda df: df["Date"].dt.dayofweek.astype(float),
    "day_of_month": lambda df: df["Date"].dt.day.astype(float),
    "month": lambda df: df["Date"].dt.month.astype(float),
    "year": lambda df: df["Date"].dt.year.astype(float),
}


def build_features(prices: pd.DataFrame, names: tuple[str, ...] | list[str]) -> pd.DataFrame:
    """One column per requested feature, same index as `prices`; warm-up rows are NaN."""
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; choose from {sorted(FEATURES)}")
    if not names:
        raise ValueError("at least one feature is needed")
    return pd.DataFrame({name: FEATURES[name](prices) for name in names}, index=prices.index)
