"""The strategies a run trades on its test window, side by side and under the same rules.

`strategy`: long (or short) by the forecast, with the params' threshold, stops and
costs; `strategy_gross`: the same without costs; `buy_and_hold`: the benchmark on
the same bars; `optimised` (unless `backtest.optimise.method` is `none`): the
threshold, stop and target chosen on the validation window, traded once on the test window;
`sized` (when the forecasts carry an interval): the equity share set by the interval's
downside (`stockflow/sizing.py`), its target chosen on the validation window.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from stockflow import optimise, sizing
from stockflow.backtest import Rules, buy_and_hold, run_backtest
from stockflow.config import BacktestParams
from stockflow.performance import strategy_metrics

SEARCH_COLUMNS = ["threshold", "stop_loss", "take_profit"]


@dataclass(frozen=True)
class StrategyReport:
    """The strategies' figures, equity curves, trades and search table for one test window."""

    metrics: dict  # per strategy; plus the window's `start` and `end`
    equity: pd.DataFrame  # one column per strategy, indexed by date
    trades: pd.DataFrame  # the params' strategy's round trips
    search: pd.DataFrame  # candidates scored on the validation window, best first (empty when the search is off)


def trade_forecasts(prices: pd.DataFrame, predictions: pd.DataFrame, p: BacktestParams) -> StrategyReport:
    """Trade the `test` rows of `predictions` (and tune on its `val` rows) on `prices`."""
    test = optimise.trading_window(prices, predictions[predictions["split"] == "test"])
    val = optimise.trading_window(prices, predictions[predictions["split"] == "val"])
    signals = test.signals(p.threshold, p.allow_short)
    rules = Rules.from_params(p)
    results = {
        "strategy": run_backtest(test.bars, signals, rules),
        "strategy_gross": run_backtest(test.bars, signals, rules.without_costs()),
        "buy_and_hold": buy_and_hold(test.bars, rules),
    }
    metrics = {name: strategy_metrics(r, p.cash, p.risk_free_rate) for name, r in results.items()}
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    search = pd.DataFrame(columns=SEARCH_COLUMNS)
    if p.optimise.method != "none":
        metrics["optimised"], search, equity["optimised"] = optimise.tune_and_trade(val, test, p)
    if "lower" in predictions:
        metrics["sized"], equity["sized"] = sizing.tune_and_trade(val, test, p)
    metrics["start"] = str(test.bars["Date"].iloc[0].date())
    metrics["end"] = str(test.bars["Date"].iloc[-1].date())
    equity.index.name = "date"
    return StrategyReport(metrics, equity, results["strategy"].trades, search)
