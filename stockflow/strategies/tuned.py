"""`optimised`: the threshold, stop-loss and take-profit chosen on the validation window by the search in
`backtest.optimise` (`stockflow/trading/optimise.py`), traded once on the test window; off with
`optimise.method: none`."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockflow.strategies import Traded
from stockflow.trading import optimise
from stockflow.trading.optimise import Window
from stockflow.trading.settings import BacktestParams


class Tuned:
    name = "optimised"

    def applies(self, predictions: pd.DataFrame, p: BacktestParams) -> bool:
        return p.optimise.method != "none"

    def trade(self, val: Window, test: Window, p: BacktestParams) -> Traded:
        report, search, equity = optimise.tune_and_trade(val, test, p)
        return Traded(metrics={self.name: report}, equity={self.name: equity}, search=search)

    def rows(self, summary: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
        rows = [("tuned, valid.", summary["validation"]), ("tuned, test", summary["test"])]
        if "walk_forward" in summary:
            rows.append(("walk-forward", summary["walk_forward"]["pooled"]))
        return rows

    def notes(self, summary: dict[str, Any]) -> list[str]:
        return []


STRATEGY = Tuned()
