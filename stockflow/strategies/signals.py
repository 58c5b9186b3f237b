"""`strategy`: long (or short) by the forecast, under the params' threshold, stop-loss, take-profit and costs; and
`strategy_gross`, the same trades without costs."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockflow.strategies import Traded
from stockflow.trading.backtest import Rules, run_backtest
from stockflow.trading.optimise import Window
from stockflow.trading.performance import strategy_metrics
from stockflow.trading.settings import BacktestParams


class Signals:
    name = "strategy"

    def applies(self, predictions: pd.DataFrame, p: BacktestParams) -> bool:
        return True

    def trade(self, val: Window, test: Window, p: BacktestParams) -> Traded:
        signals, rules = test.signals(p.threshold, p.allow_short), Rules.from_params(p)
        net, gross = run_backtest(test.bars, signals, rules), run_backtest(test.bars, signals, rules.without_costs())
        return Traded(
            metrics={"strategy": strategy_metrics(net, p.cash, p.risk_free_rate),
                     "strategy_gross": strategy_metrics(gross, p.cash, p.risk_free_rate)},
            equity={"strategy": net.equity, "strategy_gross": gross.equity},
            trades=net.trades,
        )  # fmt: skip

    def rows(self, summary: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
        return [("model signals", summary)]

    def notes(self, summary: dict[str, Any]) -> list[str]:
        return []


STRATEGY = Signals()
