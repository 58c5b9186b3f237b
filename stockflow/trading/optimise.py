"""Choosing the strategy's threshold, stop-loss and take-profit without looking at the test window.

Candidates are scored on one window (the validation window's forecasts) and
the winner is applied once to the next; walk-forward repeats that over
consecutive folds, each scored only on what came before it.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, replace
from typing import Literal

import numpy as np
import pandas as pd

from stockflow.trading.backtest import Rules, forecast_signals, run_backtest
from stockflow.trading.performance import equity_metrics, strategy_metrics
from stockflow.trading.settings import BacktestParams
from stockflow.trading.stop_grid import backtest_stops

Objective = Literal["sharpe", "calmar", "total_return"]


@dataclass(frozen=True)
class Window:
    """Bars to trade and the forecasts decided on them (`date`, `close`, `forecast`)."""

    bars: pd.DataFrame
    forecasts: pd.DataFrame

    def signals(self, threshold: float, allow_short: bool) -> np.ndarray:
        f = self.forecasts
        sig = pd.Series(forecast_signals(f["close"], f["forecast"], threshold, allow_short), index=f["date"])
        # Bars without a forecast (the last one) decide nothing.
        return sig.reindex(self.bars["Date"]).fillna(0).to_numpy(dtype=int)


def trading_window(prices: pd.DataFrame, forecasts: pd.DataFrame) -> Window:
    """The bars from the first decision day to the last day a forecast is about."""
    first, last = forecasts["date"].min(), forecasts["target_date"].max()
    bars = prices[(prices["Date"] >= first) & (prices["Date"] <= last)].reset_index(drop=True)
    return Window(bars, forecasts.reset_index(drop=True))


def tune_and_trade(val: Window, test: Window, p: BacktestParams) -> tuple[dict, pd.DataFrame, pd.Series]:
    """Choose threshold, stop and target on `val`, trade `test` once with them.

    Returns the report (choice, its validation and test figures, and the walk-forward
    result when `p.optimise.walk_forward_folds` is set), the scored candidates, and the
    test window's equity.
    """
    o, rules = p.optimise, Rules.from_params(p)
    space = candidates(o.space(), o.method, o.samples)
    grid = search(val, space, rules, o.objective, p.risk_free_rate)
    chosen = best(grid)
    traded = run_backtest(
        test.bars,
        test.signals(chosen["threshold"], p.allow_short),
        replace(rules, stop_loss=chosen["stop_loss"], take_profit=chosen["take_profit"]),
    )
    report = {
        "method": o.method,
        "objective": o.objective,
        "candidates": len(grid),
        "chosen": chosen,
        "validation": {k: float(v) for k, v in grid.iloc[0].items() if k not in chosen},
        "test": strategy_metrics(traded, p.cash, p.risk_free_rate),
    }
    if o.walk_forward_folds:
        folds, equity = walk_forward(val, test, o.walk_forward_folds, space, rules, o.objective, p.risk_free_rate)
        report["walk_forward"] = {"folds": folds, "pooled": equity_metrics(equity, p.cash, p.risk_free_rate)}
    return report, grid, traded.equity


def candidates(
    space: dict[str, list], method: Literal["grid", "random"], samples: int = 20, seed: int = 0
) -> list[dict]:
    """Every combination (grid), or `samples` distinct ones drawn at random (random search).

    The grid is scikit-learn's `ParameterGrid` order (names sorted, values as given), built here: a DVC
    backtest stage would otherwise import scikit-learn for it alone (1-3 s of a 3-5 s process).
    """
    names = sorted(space)
    grid = [dict(zip(names, values, strict=True)) for values in itertools.product(*(space[n] for n in names))]
    if method == "grid" or samples >= len(grid):
        return grid
    from sklearn.model_selection import ParameterSampler

    return list(ParameterSampler(space, n_iter=samples, random_state=seed))


def evaluate(window: Window, candidate: dict, rules: Rules, risk_free_rate: float = 0.0) -> dict:
    """The strategy metrics of one candidate (threshold, stop-loss, take-profit) traded on `window`."""
    signals = window.signals(candidate["threshold"], rules.allow_short)
    chosen = replace(rules, stop_loss=candidate["stop_loss"], take_profit=candidate["take_profit"])
    return strategy_metrics(run_backtest(window.bars, signals, chosen), rules.cash, risk_free_rate)


def search(
    window: Window, space: list[dict], rules: Rules, objective: Objective, risk_free_rate: float = 0.0
) -> pd.DataFrame:
    """One row per candidate with its metrics on `window`, best first (ties keep the given order).

    Candidates of one threshold share their signals, so their stop pairs are traded at once.
    """
    scored: dict[int, dict] = {}
    for threshold in dict.fromkeys(c["threshold"] for c in space):
        group = [i for i, c in enumerate(space) if c["threshold"] == threshold]
        stops = [(space[i]["stop_loss"], space[i]["take_profit"]) for i in group]
        grid = backtest_stops(window.bars, window.signals(threshold, rules.allow_short), rules, stops)
        scored.update(zip(group, grid.metrics(rules.cash, risk_free_rate), strict=True))
    table = pd.DataFrame([{**c, **scored[i]} for i, c in enumerate(space)])
    return table.sort_values(objective, ascending=False, kind="stable").reset_index(drop=True)


def best(table: pd.DataFrame) -> dict:
    """The top candidate of a `search` table as threshold / stop_loss / take_profit (None = off)."""
    row = table.iloc[0]
    return {k: (None if pd.isna(row[k]) else float(row[k])) for k in ("threshold", "stop_loss", "take_profit")}


def split_folds(window: Window, folds: int) -> list[Window]:
    """`folds` consecutive windows of (nearly) equal numbers of forecasts."""
    f = window.forecasts
    parts = np.array_split(np.arange(len(f)), folds)
    return [trading_window(window.bars, f.iloc[idx]) for idx in parts if len(idx)]


def walk_forward(
    history: Window,
    test: Window,
    folds: int,
    space: list[dict],
    rules: Rules,
    objective: Objective,
    risk_free_rate: float = 0.0,
) -> tuple[list[dict], pd.Series]:
    """Re-choose before each test fold on everything before it; return per-fold results and stitched equity.

    The first fold is chosen on `history` (the validation window); each later
    fold on `history` plus the test folds already traded (an expanding window).
    """
    results, pieces, cash = [], [], rules.cash
    seen = history.forecasts
    all_bars = pd.concat([history.bars, test.bars]).drop_duplicates("Date").sort_values("Date")
    for fold in split_folds(test, folds):
        chosen = best(search(trading_window(all_bars, seen), space, rules, objective, risk_free_rate))
        fold_rules = replace(rules, cash=cash)
        signals = fold.signals(chosen["threshold"], rules.allow_short)
        traded = run_backtest(
            fold.bars, signals, replace(fold_rules, stop_loss=chosen["stop_loss"], take_profit=chosen["take_profit"])
        )
        metrics = strategy_metrics(traded, cash, risk_free_rate)
        results.append(
            {"start": str(fold.bars["Date"].iloc[0].date()), "end": str(fold.bars["Date"].iloc[-1].date()),
             **chosen, **metrics}
        )  # fmt: skip
        # Folds share their boundary bar (last target day = next first decision day): keep it once.
        pieces.append(traded.equity if not pieces else traded.equity.iloc[1:])
        cash = float(traded.equity.iloc[-1])
        seen = pd.concat([seen, fold.forecasts], ignore_index=True)
    return results, pd.concat(pieces)
