"""`sized`: hold the share of the equity the interval's downside allows (`stockflow/trading/sizing.py`), its target
chosen on the validation window; traded when the forecasts carry an interval."""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockflow.strategies import Traded
from stockflow.trading import sizing
from stockflow.trading.optimise import Window
from stockflow.trading.settings import BacktestParams


class Sized:
    name = "sized"

    def applies(self, predictions: pd.DataFrame, p: BacktestParams) -> bool:
        return "lower" in predictions

    def trade(self, val: Window, test: Window, p: BacktestParams) -> Traded:
        report, equity = sizing.tune_and_trade(val, test, p)
        return Traded(metrics={self.name: report}, equity={self.name: equity})

    def rows(self, summary: dict[str, Any]) -> list[tuple[str, dict[str, float]]]:
        return [("sized, valid.", summary["validation"]), ("sized, test", summary["test"])]

    def notes(self, summary: dict[str, Any]) -> list[str]:
        t = summary["test"]
        return [
            f"  sized: holds min(1, {summary['target']:.1%} / the interval's downside) of the equity (target chosen "
            f"on validation); on test {t['mean_weight']:.0%} held on average, {int(t['rebalances'])} rebalances"
        ]


STRATEGY = Sized()
