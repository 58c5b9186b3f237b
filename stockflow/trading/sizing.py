"""Risk-sized holding: the interval's downside decides how much of the equity is held each day.

At the close of day t the model's interval says how far the next close may fall:
d_t = 1 - lower_t / close_t. The strategy holds the share of its equity

    w_t = min(1, target / d_t)

so that a fall to the interval's lower end costs about `target` of the equity, and all
of it when the interval is narrow (no leverage, long only). This is volatility targeting
(Moreira and Muir, 2017) with the model's own volatility forecast. The target is chosen
on the validation window by the strategy search's objective and traded once on the test
window, beside Buy-and-Hold with the same costs.

Execution follows the engine's rules (`stockflow/trading/backtest.py`): w_t is decided at t's
close and filled at t+1's open; every fill pays commission, and slippage against the
trader; fractional units. To keep costs from eating the idea, the position is
rebalanced only when the weight held has drifted more than `band` from the wanted one
(an exit to zero always fills). There are no stops: the sizing is the risk control.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockflow.trading.backtest import TRADE_COLUMNS, BacktestResult, Rules, bar_dates
from stockflow.trading.performance import equity_metrics
from stockflow.trading.settings import BacktestParams


def risk_weights(close: np.ndarray, lower: np.ndarray, target: float) -> np.ndarray:
    """min(1, target / (1 - lower / close)) per day; 0 where the interval is unknown."""
    downside = 1.0 - np.asarray(lower, dtype=float) / np.asarray(close, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        w = np.where(downside > 0, np.minimum(1.0, target / downside), 1.0)  # a lower end above today's close: all in
    return np.where(np.isnan(downside), 0.0, w)


def run_weights(bars: pd.DataFrame, weights: np.ndarray, rules: Rules,
                band: float = 0.0) -> tuple[BacktestResult, int]:  # fmt: skip
    """Hold `weights[t]` (0..1, decided at bar t's close) of the equity from bar t+1's open; the result and the
    number of fills (rebalances).

    With weights of 0 and 1 only, this is `run_backtest` of the same signals without stops, to the cent.
    """
    w = np.clip(np.nan_to_num(np.asarray(weights, dtype=float), nan=0.0), 0.0, 1.0)
    if len(w) != len(bars):
        raise ValueError(f"{len(w)} weights for {len(bars)} bars")
    opens, closes = (bars[c].astype(float).tolist() for c in ("Open", "Close"))
    comm, slip = rules.commission, rules.slippage
    cash, units, costs, rebalances = float(rules.cash), 0.0, 0.0, 0
    equity, position = [0.0] * len(opens), [0.0] * len(opens)
    for i, o in enumerate(opens):
        want = float(w[i - 1]) if i > 0 else 0.0
        value = cash + units * o
        held = units * o / value if value > 0 else 0.0
        if abs(want - held) > band or (want == 0.0 and units > 0):
            delta = want * value / o - units
            if delta > 0:
                px = o * (1 + slip)
                delta = min(delta, cash / (px * (1 + comm)))
                fee = delta * px * comm
                cash -= delta * px + fee
            else:
                px = o * (1 - slip)
                fee = -delta * px * comm
                cash += -delta * px - fee
            if delta != 0:
                costs += fee + abs(delta) * abs(px - o)
                units += delta
                rebalances += 1
        equity[i] = cash + units * closes[i]
        position[i] = units
    dates = bar_dates(bars)
    return BacktestResult(
        equity=pd.Series(equity, index=dates, name="equity"),
        position=pd.Series(position, index=dates, name="position"),
        trades=pd.DataFrame(columns=TRADE_COLUMNS),
        costs=costs,
    ), rebalances


def sized_metrics(result: BacktestResult, rebalances: int, bars: pd.DataFrame, p: BacktestParams) -> dict:
    """The equity figures of a sized run, with its rebalances, the average share held and the costs paid."""
    held = result.position.to_numpy() * bars["Close"].to_numpy(dtype=float) / result.equity.to_numpy()
    return {
        **equity_metrics(result.equity, p.cash, p.risk_free_rate),
        "rebalances": float(rebalances),
        "mean_weight": float(np.mean(held)),
        "costs": float(result.costs),
    }


def weights_for(window, target: float) -> np.ndarray:
    """The day-by-day weights of a trading window (`stockflow.trading.optimise.Window`) at `target`, one per bar."""
    f = window.forecasts
    w = pd.Series(risk_weights(f["close"], f["lower"], target), index=f["date"])
    return w.reindex(window.bars["Date"]).fillna(0.0).to_numpy(dtype=float)


def tune_and_trade(val, test, p: BacktestParams) -> tuple[dict, pd.Series]:
    """Choose the target on `val` by the search's objective (ties: the smaller target); trade `test` once."""
    rules, band = Rules.from_params(p), p.sizing.band
    scored = []
    for target in p.sizing.targets:
        result, n = run_weights(val.bars, weights_for(val, target), rules, band)
        scored.append((target, sized_metrics(result, n, val.bars, p)))
    objective = p.optimise.objective
    target, validation = max(scored, key=lambda item: (item[1][objective], -item[0]))
    result, n = run_weights(test.bars, weights_for(test, target), rules, band)
    report = {
        "objective": objective,
        "target": float(target),
        "band": float(band),
        "validation": validation,
        "test": sized_metrics(result, n, test.bars, p),
    }
    return report, result.equity
