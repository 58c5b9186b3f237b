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

    Negative statistic: forecast A is more accurate. The statistic carries the
    Harvey-Leybourne-Newbold small-sample factor, and its two-sided p-value comes
    from Student's t with n - 1 degrees of freedom, as they recommend.
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


def mae_ratio(actual: np.ndarray, forecast: np.ndarray, close_today: np.ndarray) -> float:
    """MAE of `forecast` over MAE of persistence (tomorrow = today) on the same days: below 1 beats it."""
    actual = np.asarray(actual, dtype=float)
    return float(
        np.mean(np.abs(np.asarray(forecast, dtype=float) - actual))
        / np.mean(np.abs(np.asarray(close_today, dtype=float) - actual))
    )


def versus_persistence(actual: np.ndarray, forecast: np.ndarray, close_today: np.ndarray) -> dict:
    """A forecast's metrics with its MAE ratio and Diebold-Mariano test against persistence."""
    dm, p = diebold_mariano(actual, forecast, close_today)
    return {
        **forecast_metrics(actual, forecast, close_today),
        "mae_ratio": mae_ratio(actual, forecast, close_today),
        "dm_stat": dm,
        "dm_pvalue": p,
        "days": len(actual),
    }
