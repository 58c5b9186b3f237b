"""Forecast error measures, each read beside the persistence forecast (tomorrow = today)."""

from __future__ import annotations

import math

import numpy as np


def forecast_metrics(actual: np.ndarray, forecast: np.ndarray, close_today: np.ndarray) -> dict[str, float | None]:
    """MAE, RMSE, MAPE (%) and direction accuracy of next-close forecasts.

    Direction accuracy counts days where the forecast's move from today's close
    has the sign of the actual move; a forecast of no move counts as wrong.
    """
    actual, forecast, close_today = (np.asarray(a, dtype=float) for a in (actual, forecast, close_today))
    err = forecast - actual
    predicted_move = np.sign(forecast - close_today)
    actual_move = np.sign(actual - close_today)
    return {
        "mae": float(np.mean(np.abs(err))),
        "rmse": float(np.sqrt(np.mean(err**2))),
        "mape": float(np.mean(np.abs(err / actual)) * 100.0),
        # None for a forecast that never calls a move (persistence): it has no direction to score.
        "direction_accuracy": float(np.mean((predicted_move == actual_move) & (predicted_move != 0)))
        if np.any(predicted_move != 0)
        else None,
    }


def up_share(actual: np.ndarray, close_today: np.ndarray) -> float:
    """Share of days that closed higher: the direction accuracy of always saying "up"."""
    return float(np.mean(np.asarray(actual) > np.asarray(close_today)))


def diebold_mariano(actual: np.ndarray, forecast_a: np.ndarray, forecast_b: np.ndarray) -> tuple[float, float]:
    """Diebold-Mariano test of equal squared-error accuracy for one-step forecasts.

    Negative statistic: forecast A is more accurate. Two-sided p-value from the
    normal distribution, with the Harvey-Leybourne-Newbold small-sample factor.
    """
    from scipy import stats

    actual = np.asarray(actual, dtype=float)
    d = (np.asarray(forecast_a) - actual) ** 2 - (np.asarray(forecast_b) - actual) ** 2
    n = len(d)
    var = np.var(d, ddof=0) / n
    if n < 3 or var <= 0:
        return float("nan"), float("nan")
    dm = float(np.mean(d) / math.sqrt(var))
    dm *= math.sqrt((n - 1) / n)  # HLN correction for horizon 1
    p = float(2 * stats.t.sf(abs(dm), df=n - 1))
    return dm, p
