"""Risk and return measures of an equity curve, on daily bars (252 a year)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from stockflow.backtest import BacktestResult

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
    values = np.concatenate([[initial], equity.to_numpy(dtype=float)])
    below = values < np.maximum.accumulate(values)
    longest = current = 0
    for flag in below[1:]:
        current = current + 1 if flag else 0
        longest = max(longest, current)
    return longest


def equity_metrics(equity: pd.Series, initial: float, risk_free_rate: float = 0.0) -> dict[str, float]:
    """Return, CAGR, volatility, Sharpe, Sortino, drawdown and Calmar of an equity curve."""
    r = daily_returns(equity, initial)
    n = len(r)
    total = float(equity.iloc[-1] / initial - 1.0)
    years = n / TRADING_DAYS
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1 else -1.0
    excess = r - risk_free_rate / TRADING_DAYS
    std = float(np.std(r, ddof=1)) if n > 1 else 0.0
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    max_dd = float(min(drawdown(pd.Series(np.concatenate([[initial], equity.to_numpy()]))).min(), 0.0))
    return {
        "total_return": total,
        "cagr": cagr,
        "volatility": std * math.sqrt(TRADING_DAYS),
        "sharpe": float(np.mean(excess) / std * math.sqrt(TRADING_DAYS)) if std > 0 else 0.0,
        "sortino": float(np.mean(excess) / downside * math.sqrt(TRADING_DAYS)) if downside > 0 else 0.0,
        "max_drawdown": max_dd,
        "max_drawdown_days": float(longest_drawdown(equity, initial)),
        "calmar": cagr / abs(max_dd) if max_dd < 0 else 0.0,
        "final_equity": float(equity.iloc[-1]),
    }


def trade_metrics(result: BacktestResult) -> dict[str, float]:
    """Trade count, win rate, profit factor (infinite when nothing was lost), exposure and costs."""
    pnl = result.trades["pnl"].to_numpy(dtype=float)
    wins, losses = pnl[pnl > 0].sum(), -pnl[pnl < 0].sum()
    return {
        "trades": float(len(pnl)),
        "win_rate": float(np.mean(pnl > 0)) if len(pnl) else 0.0,
        "profit_factor": float(wins / losses) if losses > 0 else (float("inf") if wins > 0 else 0.0),
        "exposure": float(np.mean(result.position.to_numpy() != 0)),
        "costs": float(result.costs),
    }


def strategy_metrics(result: BacktestResult, initial: float, risk_free_rate: float = 0.0) -> dict[str, float]:
    """`equity_metrics` and `trade_metrics` of one backtest."""
    return {**equity_metrics(result.equity, initial, risk_free_rate), **trade_metrics(result)}
