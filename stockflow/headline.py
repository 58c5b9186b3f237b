"""The handful of figures that say how a run went, under short names.

They head the MLflow run (first in its metrics), fill `metrics/<ticker>.json` for
`dvc exp show` and `dvc metrics diff`, and make the rows of `stockflow runs` and the
watchlist table. The full detail stays under each stage's prefix.
"""

from __future__ import annotations

# In the order people read them: the forecast against persistence, then the strategy against holding.
NAMES = ("mae_ratio", "dm_pvalue", "sharpe", "return", "bh_return", "max_drawdown", "promoted")
MEANING = {
    "mae_ratio": "forecast MAE / persistence MAE on the test window (below 1 beats tomorrow = today)",
    "dm_pvalue": "Diebold-Mariano p-value of the model against persistence (small: the difference is not noise)",
    "sharpe": "the strategy's Sharpe ratio, net of costs",
    "return": "the strategy's total return, net of costs",
    "bh_return": "Buy-and-Hold's total return on the same bars, same costs",
    "max_drawdown": "the strategy's deepest fall from a peak",
    "promoted": "1 if the gate made this model champion, else 0",
}


def headline(evaluate: dict, backtest: dict, promote: dict | None = None) -> dict[str, float]:
    """The headline figures from the evaluate, backtest and (when it ran) promote reports."""
    strategy, hold = backtest["strategy"], backtest["buy_and_hold"]
    out = {
        "mae_ratio": evaluate["mae_ratio"],
        "dm_pvalue": evaluate["dm_pvalue"],
        "sharpe": strategy["sharpe"],
        "return": strategy["total_return"],
        "bh_return": hold["total_return"],
        "max_drawdown": strategy["max_drawdown"],
    }
    if promote is not None:
        out["promoted"] = 1.0 if promote["promote"] else 0.0
    return {k: float(v) for k, v in out.items()}
