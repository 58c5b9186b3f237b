"""Stage `backtest`: trade the test-window forecasts and compare with Buy-and-Hold on the same bars.

The strategies themselves are `stockflow/strategies/`; this stage reads the
forecasts and prices, and writes the equity curves, trades, search and figures.
"""

from __future__ import annotations

import pandas as pd

from stockflow.config import Params
from stockflow.strategies import trade_forecasts
from tasks.services import catalog
from tasks.services.files import read_price_file, save_figure, write_csv, write_json
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "backtest",
    "the forecasts traded under the rules, beside Buy-and-Hold; the strategy tuned on the validation window",
    reads=(catalog.DATA, "evaluate/predictions.csv"),
    writes=(
        "equity.csv",
        "trades.csv",
        "search.csv",
        "equity.png",
        "trades.png",
        "search_heatmap.png",
        catalog.SUMMARY,
    ),
    params=("backtest",),
    logged=("equity.csv", "trades.csv", "search.csv", "equity.png", "trades.png", "search_heatmap.png"),
)


def compute(ws: Workspace, params: Params, ticker: str) -> dict:
    """Trade the test-window forecasts under the params' rules; write equity, trades, search and figures."""
    from stockflow.reporting import plots

    f = catalog.files(STAGE, ws, ticker)
    prices = read_price_file(f.input(catalog.DATA))
    pred = pd.read_csv(f.input("evaluate/predictions.csv"), parse_dates=["date", "target_date"])
    result = trade_forecasts(prices, pred, params.backtest)

    write_csv(result.equity, f.output("equity.csv"), index=True)
    write_csv(result.trades, f.output("trades.csv"), float_format="%.8g")
    write_csv(result.search, f.output("search.csv"), float_format="%.6g")
    equity = result.equity
    save_figure(
        plots.equity_vs_benchmark(equity["strategy"], equity["buy_and_hold"], f"{ticker}: strategy vs buy and hold"),
        f.output("equity.png"),
    )
    window = prices[(prices["Date"] >= equity.index[0]) & (prices["Date"] <= equity.index[-1])]
    save_figure(
        plots.trades_on_price(window, result.trades, f"{ticker}: trades on the test window"), f.output("trades.png")
    )
    opt = result.metrics.get("optimised")
    title = f"{ticker}: validation-window {opt['objective']}, threshold {opt['chosen']['threshold']:.2%}" if opt else ""
    threshold = opt["chosen"]["threshold"] if opt else None
    objective = opt["objective"] if opt else params.backtest.optimise.objective
    save_figure(plots.search_heatmap(result.search, objective, threshold, title), f.output("search_heatmap.png"))
    write_json(f.output(catalog.SUMMARY), result.metrics)
    return result.metrics
