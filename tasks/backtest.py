"""Stage `backtest`: trade the test-window forecasts and compare with Buy-and-Hold on the same bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from stockflow.backtest import BacktestResult, Rules, forecast_signals, run_backtest
from stockflow.config import BacktestParams, Params
from stockflow.performance import strategy_metrics
from tasks import tracking
from tasks.evaluate import load_predictions
from tasks.prices_io import read_price_file
from tasks.project import Project, read_json, write_json

STAGE = "backtest"


def rules_from(p: BacktestParams) -> Rules:
    return Rules(p.cash, p.commission, p.slippage, p.stop_loss, p.take_profit, p.allow_short, p.whole_units)


def window_bars(prices: pd.DataFrame, pred: pd.DataFrame) -> pd.DataFrame:
    """The bars from the first decision day to the last day a forecast is about."""
    first, last = pred["date"].min(), pred["target_date"].max()
    return prices[(prices["Date"] >= first) & (prices["Date"] <= last)].reset_index(drop=True)


def signals_on(bars: pd.DataFrame, pred: pd.DataFrame, p: BacktestParams) -> np.ndarray:
    sig = pd.Series(forecast_signals(pred["close"], pred["forecast"], p.threshold, p.allow_short), index=pred["date"])
    # The last bar has no forecast after it: nothing is decided there.
    return sig.reindex(bars["Date"]).fillna(0).to_numpy(dtype=int)


def simulate(bars: pd.DataFrame, signals: np.ndarray, p: BacktestParams) -> dict[str, BacktestResult]:
    rules = rules_from(p)
    hold = np.ones(len(bars), dtype=int)
    plain = Rules(p.cash, p.commission, p.slippage, whole_units=p.whole_units)
    return {
        "strategy": run_backtest(bars, signals, rules),
        "strategy_gross": run_backtest(bars, signals, rules.without_costs()),
        "buy_and_hold": run_backtest(bars, hold, plain),
    }


def compute(project: Project, params: Params, ticker: str) -> dict:
    p = params.backtest
    pred = load_predictions(project, ticker)
    test = pred[pred["split"] == "test"].reset_index(drop=True)
    bars = window_bars(read_price_file(project.data_file(ticker)), test)
    results = simulate(bars, signals_on(bars, test, p), p)
    metrics = {name: strategy_metrics(r, p.cash, p.risk_free_rate) for name, r in results.items()}
    metrics["start"], metrics["end"] = str(bars["Date"].iloc[0].date()), str(bars["Date"].iloc[-1].date())
    out = project.out_dir(ticker, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    equity.index.name = "date"
    equity.to_csv(out / "equity.csv", lineterminator="\n", float_format="%.6f")
    results["strategy"].trades.to_csv(out / "trades.csv", index=False, lineterminator="\n")
    write_json(project.metrics_file(ticker, STAGE), metrics)
    return metrics


def record(project: Project, params: Params, ticker: str) -> None:
    from stockflow import plots
    from stockflow.config import flatten

    metrics = read_json(project.metrics_file(ticker, STAGE))
    tracking.log_stage_metrics(STAGE, flatten({k: v for k, v in metrics.items() if isinstance(v, dict)}))
    out = project.out_dir(ticker, STAGE)
    equity = pd.read_csv(out / "equity.csv", index_col="date", parse_dates=["date"])
    trades = pd.read_csv(out / "trades.csv", parse_dates=["entry_date", "exit_date"])
    tracking.log_figure(
        plots.equity_vs_benchmark(equity["strategy"], equity["buy_and_hold"], f"{ticker}: strategy vs buy and hold"),
        "plots/equity.png",
    )
    prices = read_price_file(project.data_file(ticker))
    window = prices[(prices["Date"] >= equity.index[0]) & (prices["Date"] <= equity.index[-1])]
    tracking.log_figure(
        plots.trades_on_price(window, trades, f"{ticker}: trades on the test window"), "plots/trades.png"
    )
    tracking.log_file(out / "trades.csv", "backtest")
    tracking.log_file(out / "equity.csv", "backtest")


def backtest(project: Project, params: Params, ticker: str, run_id: str, final: bool = True) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        metrics = compute(project, params, ticker)
        record(project, params, ticker)
    return metrics
