"""Risk and return measures of equity curves, on daily bars (252 a year).

The measures are computed row by row on a 2-D array, so one curve and a grid of
curves (`stockflow.trading.stop_grid`) are measured by the same lines.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stockflow.trading.backtest import BacktestResult

TRADING_DAYS = 252


def daily_returns(equity: pd.Series, initial: float) -> np.ndarray:
    """Bar-to-bar returns of the equity curve, the first from the starting cash."""
    values = np.concatenate([[initial], equity.to_numpy(dtype=float)])
    return values[1:] / values[:-1] - 1.0


def drawdown(equity: pd.Series) -> pd.Series:
    """Fall from the running peak, as a fraction (0 at new highs, negative below)."""
    return equity / equity.cummax() - 1.0


def longest_drawdown(equity: pd.Series, initial: float) -> int:
    """Longest run of bars spent below a previous peak."""
    values = _with_initial(equity.to_numpy(dtype=float)[None, :], initial)
    return int(_longest_below_peak(values, np.maximum.accumulate(values, axis=1))[0])


def _with_initial(equity: np.ndarray, initial: float | np.ndarray) -> np.ndarray:
    """Each row of `equity` preceded by its starting cash."""
    start = np.broadcast_to(np.asarray(initial, dtype=float).reshape(-1, 1), (len(equity), 1))
    return np.concatenate([start, equity], axis=1)


def _longest_below_peak(values: np.ndarray, peak: np.ndarray) -> np.ndarray:
    """Per row: the longest run of bars below the running `peak` (the first column is the start)."""
    below = (values < peak)[:, 1:]
    bars = np.arange(below.shape[1])
    # A run's length at each bar is its distance from the last bar that was not below the peak.
    last_at_peak = np.maximum.accumulate(np.where(below, -1, bars), axis=1)
    return np.where(below, bars - last_at_peak, 0).max(axis=1, initial=0)


def equity_metrics_rows(
    equity: np.ndarray, initial: float | np.ndarray, risk_free_rate: float = 0.0
) -> dict[str, np.ndarray]:
    """`equity_metrics` of every row of a (curves, bars) array, as one array per measure."""
    values = _with_initial(np.asarray(equity, dtype=float), initial)
    start, last = values[:, 0], values[:, -1]
    with np.errstate(invalid="ignore", divide="ignore"):
        r = values[:, 1:] / values[:, :-1] - 1.0
        n = r.shape[1]
        total = last / start - 1.0
        years = n / TRADING_DAYS
        cagr = np.where(total > -1, np.abs(1.0 + total) ** (1.0 / years) - 1.0, -1.0)
        excess = r - risk_free_rate / TRADING_DAYS
        std = np.std(r, axis=1, ddof=1) if n > 1 else np.zeros(len(r))
        downside = np.sqrt(np.mean(np.minimum(excess, 0.0) ** 2, axis=1))
        mean_excess = np.mean(excess, axis=1)
        peak = np.maximum.accumulate(values, axis=1)
        max_dd = np.minimum((values / peak).min(axis=1) - 1.0, 0.0)
        annual = math.sqrt(TRADING_DAYS)
        return {
            "total_return": total,
            "cagr": cagr,
            "volatility": std * annual,
            "sharpe": np.where(std > 0, mean_excess / std * annual, 0.0),
            "sortino": np.where(downside > 0, mean_excess / downside * annual, 0.0),
            "max_drawdown": max_dd,
            "max_drawdown_days": _longest_below_peak(values, peak).astype(float),
            "calmar": np.where(max_dd < 0, cagr / np.abs(max_dd), 0.0),
            "final_equity": last,
        }


def equity_metrics(equity: pd.Series, initial: float, risk_free_rate: float = 0.0) -> dict[str, float]:
    """Return, CAGR, volatility, Sharpe, Sortino, drawdown and Calmar of an equity curve."""
    rows = equity_metrics_rows(equity.to_numpy(dtype=float)[None, :], initial, risk_free_rate)
    return {name: float(value[0]) for name, value in rows.items()}


def trade_metrics_rows(
    pnl: np.ndarray, curve: np.ndarray, curves: int, exposure: np.ndarray, costs: np.ndarray
) -> dict[str, np.ndarray]:
    """`trade_metrics` of many backtests at once: each trade's `pnl` and the `curve` (row) it belongs to."""
    count = np.bincount(curve, minlength=curves).astype(float)
    won = np.bincount(curve, weights=(pnl > 0), minlength=curves)
    wins = np.bincount(curve, weights=np.where(pnl > 0, pnl, 0.0), minlength=curves)
    losses = np.bincount(curve, weights=np.where(pnl < 0, -pnl, 0.0), minlength=curves)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "trades": count,
            "win_rate": np.where(count > 0, won / count, 0.0),
            "profit_factor": np.where(losses > 0, wins / losses, np.where(wins > 0, np.inf, 0.0)),
            "exposure": np.asarray(exposure, dtype=float),
            "costs": np.asarray(costs, dtype=float),
        }


def trade_metrics(result: BacktestResult) -> dict[str, float]:
    """Trade count, win rate, profit factor (infinite when nothing was lost), exposure and costs."""
    pnl = result.trades["pnl"].to_numpy(dtype=float)
    exposure = np.mean(result.position.to_numpy() != 0)
    rows = trade_metrics_rows(pnl, np.zeros(len(pnl), dtype=int), 1, [exposure], [result.costs])
    return {name: float(value[0]) for name, value in rows.items()}


def strategy_metrics(result: BacktestResult, initial: float, risk_free_rate: float = 0.0) -> dict[str, float]:
    """`equity_metrics` and `trade_metrics` of one backtest."""
    return {**equity_metrics(result.equity, initial, risk_free_rate), **trade_metrics(result)}
