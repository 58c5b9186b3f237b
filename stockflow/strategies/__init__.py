"""The strategies a run trades on its test window, side by side and under the same rules and costs.

A strategy is one module here that defines `STRATEGY`, an object with the `Strategy`
methods, and is named in params.yaml's `backtest.strategies` (its `name` is also its
key in the backtest's summary, its column in `equity.csv` and its prefix in the MLflow
record, `backtest/<name>.*`). Whatever it trades, it is judged beside Buy-and-Hold on the
same bars with the same costs; what it chooses, it chooses on the validation window and
trades once on the test window. The run's summary table takes each strategy's rows from
it (`Strategy.rows`), so adding one changes no other module.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from stockflow import plugins
from stockflow.trading.backtest import Rules, buy_and_hold
from stockflow.trading.optimise import Window, trading_window
from stockflow.trading.performance import strategy_metrics
from stockflow.trading.settings import BacktestParams

SEARCH_COLUMNS = ["threshold", "stop_loss", "take_profit"]


@dataclass(frozen=True)
class Traded:
    """What a strategy gives: its figures (keyed as the summary records them) and equity curves (one per key)."""

    metrics: dict[str, dict[str, Any]]
    equity: dict[str, pd.Series]
    trades: pd.DataFrame | None = None  # round trips, for `trades.csv` (the params' rules give them)
    search: pd.DataFrame | None = None  # candidates scored on the validation window, for `search.csv`
    extra: dict[str, Any] = field(default_factory=dict)


class Strategy(Protocol):
    name: str

    def applies(self, predictions: pd.DataFrame, p: BacktestParams) -> bool:
        """Whether it can trade these forecasts under these settings (the sized strategy needs an interval)."""

    def trade(self, val: Window, test: Window, p: BacktestParams) -> Traded:
        """Choose on `val` (if it chooses anything), trade `test` once."""

    def rows(self, summary: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
        """Its rows of the run's strategy table, from its summary as recorded: (label, figures)."""

    def notes(self, summary: dict[str, Any]) -> list[str]:
        """Lines under the table, if it has something to say."""


@functools.cache
def _strategies() -> dict[str, Strategy]:
    return plugins.discover(__name__, __path__, "STRATEGY", "name")


def strategy(name: str) -> Strategy:
    """The strategy of that name; ValueError naming the choices when there is none."""
    return plugins.chosen(_strategies(), name, "strategy")


@dataclass(frozen=True)
class StrategyReport:
    """The strategies' figures, equity curves, trades and search table for one test window."""

    metrics: dict  # per strategy; plus `strategies` (the names traded, in order), the window's `start` and `end`
    equity: pd.DataFrame  # one column per strategy, indexed by date
    trades: pd.DataFrame  # the params' strategy's round trips
    search: pd.DataFrame  # candidates scored on the validation window, best first (empty when the search is off)


def trade_forecasts(prices: pd.DataFrame, predictions: pd.DataFrame, p: BacktestParams) -> StrategyReport:
    """Trade the `test` rows of `predictions` (choosing on its `val` rows) with each of `p.strategies` that applies,
    beside Buy-and-Hold on the same bars."""
    test = trading_window(prices, predictions[predictions["split"] == "test"])
    val = trading_window(prices, predictions[predictions["split"] == "val"])
    held = buy_and_hold(test.bars, Rules.from_params(p))
    metrics: dict[str, Any] = {"buy_and_hold": strategy_metrics(held, p.cash, p.risk_free_rate)}
    equity = {"buy_and_hold": held.equity}
    trades, search, traded = None, None, []
    for name in p.strategies:
        chosen = strategy(name)
        if not chosen.applies(predictions, p):
            continue
        result = chosen.trade(val, test, p)
        metrics |= result.metrics
        equity |= result.equity
        trades = result.trades if result.trades is not None else trades
        search = result.search if result.search is not None else search
        traded.append(name)
    metrics["strategies"] = traded
    metrics["start"] = str(test.bars["Date"].iloc[0].date())
    metrics["end"] = str(test.bars["Date"].iloc[-1].date())
    frame = pd.DataFrame({name: equity[name] for name in [*(k for k in equity if k != "buy_and_hold"), "buy_and_hold"]})
    frame.index.name = "date"
    from stockflow.trading.backtest import TRADE_COLUMNS

    return StrategyReport(metrics, frame, trades if trades is not None else pd.DataFrame(columns=TRADE_COLUMNS),
                          search if search is not None else pd.DataFrame(columns=SEARCH_COLUMNS))  # fmt: skip


def table_rows(backtest: dict[str, Any]) -> tuple[list[tuple[str, dict[str, float]]], list[str]]:
    """The run summary's strategy rows (each traded strategy's, then Buy-and-Hold) and the notes under them."""
    traded = [strategy(name) for name in backtest.get("strategies", []) if name in _strategies()]
    rows = [row for s in traded for row in s.rows(backtest[s.name])]
    return [*rows, ("buy and hold", backtest["buy_and_hold"])], [
        line for s in traded for line in s.notes(backtest[s.name])
    ]
