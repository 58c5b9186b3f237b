"""Stage `backtest`: trade the test-window forecasts and compare with Buy-and-Hold on the same bars.

Three strategies on one test window: the rules in params (`strategy`), the
same gross of costs, and, when `backtest.optimise.method` is not `none`, the
threshold/stop/target chosen on the validation window (`optimised`, with its
validation-window figures beside it). Walk-forward re-chooses before each fold.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd

from stockflow import optimise
from stockflow.backtest import Rules, run_backtest
from stockflow.config import BacktestParams, Params
from stockflow.performance import equity_metrics, strategy_metrics
from tasks import tracking
from tasks.evaluate import load_predictions
from tasks.prices_io import PriceFileError, read_price_file
from tasks.project import Project, read_json, write_json

STAGE = "backtest"


def rules_from(p: BacktestParams) -> Rules:
    return Rules(p.cash, p.commission, p.slippage, p.stop_loss, p.take_profit, p.allow_short, p.whole_units)


def buy_and_hold(bars: pd.DataFrame, p: BacktestParams | Rules):
    """Long from the first open to the end, with the same cash and costs (no stops)."""
    return run_backtest(
        bars, np.ones(len(bars), dtype=int), Rules(p.cash, p.commission, p.slippage, whole_units=p.whole_units)
    )


def optimised(val: optimise.Window, test: optimise.Window, p: BacktestParams) -> tuple[dict, pd.DataFrame, pd.Series]:
    """Choose on `val`, trade `test` once; the figures, the scored candidates, and the test equity."""
    o, rules = p.optimise, rules_from(p)
    space = optimise.candidates(o.space(), o.method, o.samples)
    grid = optimise.search(val, space, rules, o.objective, p.risk_free_rate)
    chosen = optimise.best(grid)
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
        folds, equity = optimise.walk_forward(
            val, test, o.walk_forward_folds, space, rules, o.objective, p.risk_free_rate
        )
        report["walk_forward"] = {"folds": folds, "pooled": equity_metrics(equity, p.cash, p.risk_free_rate)}
    return report, grid, traded.equity


def compute(project: Project, params: Params, ticker: str) -> dict:
    p = params.backtest
    pred = load_predictions(project, ticker)
    prices = read_price_file(project.data_file(ticker))
    test = optimise.trading_window(prices, pred[pred["split"] == "test"])
    signals = test.signals(p.threshold, p.allow_short)
    rules = rules_from(p)
    results = {
        "strategy": run_backtest(test.bars, signals, rules),
        "strategy_gross": run_backtest(test.bars, signals, rules.without_costs()),
        "buy_and_hold": buy_and_hold(test.bars, p),
    }
    metrics = {name: strategy_metrics(r, p.cash, p.risk_free_rate) for name, r in results.items()}
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    out = project.out_dir(ticker, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    if p.optimise.method != "none":
        val = optimise.trading_window(prices, pred[pred["split"] == "val"])
        metrics["optimised"], grid, equity["optimised"] = optimised(val, test, p)
        grid.to_csv(out / "search.csv", index=False, lineterminator="\n", float_format="%.6g")
    else:
        (out / "search.csv").unlink(missing_ok=True)
    metrics["start"], metrics["end"] = str(test.bars["Date"].iloc[0].date()), str(test.bars["Date"].iloc[-1].date())
    equity.index.name = "date"
    equity.to_csv(out / "equity.csv", lineterminator="\n", float_format="%.6f")
    results["strategy"].trades.to_csv(out / "trades.csv", index=False, lineterminator="\n")
    write_json(project.metrics_file(ticker, STAGE), metrics)
    return metrics


def record(project: Project, params: Params, ticker: str) -> None:
    from stockflow import plots
    from stockflow.config import flatten

    metrics = read_json(project.metrics_file(ticker, STAGE))
    tracking.log_stage_metrics(STAGE, flatten(metrics))  # numbers only: dates and choices of "off" are skipped
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
    if "optimised" in metrics:
        opt = metrics["optimised"]
        grid = pd.read_csv(out / "search.csv")
        title = f"{ticker}: validation-window {opt['objective']}, threshold {opt['chosen']['threshold']:.2%}"
        tracking.log_figure(
            plots.search_heatmap(grid, opt["objective"], opt["chosen"]["threshold"], title), "plots/search_heatmap.png"
        )
        tracking.log_file(out / "search.csv", "backtest")
    tracking.log_file(out / "trades.csv", "backtest")
    tracking.log_file(out / "equity.csv", "backtest")


def backtest(project: Project, params: Params, ticker: str, run_id: str, final: bool = True) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        metrics = compute(project, params, ticker)
        record(project, params, ticker)
    return metrics


# --- signals from anywhere: `stockflow backtest --prices P --signals S` --------------------------------


def read_signal_file(path: Path) -> pd.Series:
    """A CSV of Date and one column of -1/0/1, as a Series indexed by date; errors name file, column, rows."""
    if not path.is_file():
        raise PriceFileError(f"{path}: file not found")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[-1]})") from None
    date_col = next((c for c in frame.columns if str(c).lower() == "date"), None)
    others = [c for c in frame.columns if c != date_col]
    if date_col is None or len(others) != 1:
        raise PriceFileError(f"{path}: expected two columns, Date and the signal; found {list(frame.columns)}")
    column = others[0]
    dates = pd.to_datetime(frame[date_col], errors="coerce")
    values = pd.to_numeric(frame[column], errors="coerce")
    for col, bad, what in (
        (date_col, dates.isna(), "not a date"),
        (date_col, dates.duplicated(), "repeated date"),
        (column, ~values.isin([-1, 0, 1]), "signals must be -1, 0 or 1"),
    ):
        rows = frame.index[bad.to_numpy()]
        if len(rows):
            shown = ", ".join(f"line {i + 2}: {str(frame.at[i, col])!r}" for i in rows[:5])
            more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
            raise PriceFileError(f"{path}, column {col!r}: {what} in {len(rows)} row(s): {shown}{more}")
    return pd.Series(values.astype(int).to_numpy(), index=pd.DatetimeIndex(dates), name=column).sort_index()


def align(prices: pd.DataFrame, signals: pd.Series, prices_path: Path, signals_path: Path) -> pd.DataFrame:
    """The price bars the signals cover, refusing NaN prices and dates that do not line up."""
    if "Date" not in prices.columns:
        raise PriceFileError(f"{prices_path}: no 'Date' column")
    if signals.empty:
        raise PriceFileError(f"{signals_path}: no signals")
    span = prices[(prices["Date"] >= signals.index[0]) & (prices["Date"] <= signals.index[-1])].reset_index(drop=True)
    for column in ("Open", "High", "Low", "Close"):
        if column not in span.columns:
            raise PriceFileError(f"{prices_path}: no {column!r} column")
        nan = span.index[span[column].isna()]
        if len(nan):
            days = ", ".join(str(d.date()) for d in span["Date"][nan][:5])
            raise PriceFileError(f"{prices_path}, column {column!r}: no price on {len(nan)} day(s): {days}")
    price_days = pd.DatetimeIndex(span["Date"])
    extra = signals.index.difference(price_days)
    missing = price_days.difference(signals.index)
    for days, what in (
        (extra, f"dates with no bar in {prices_path}"),
        (missing, f"trading days of {prices_path} missing"),
    ):
        if len(days):
            listed = ", ".join(str(d.date()) for d in days[:5]) + (
                f" and {len(days) - 5} more" if len(days) > 5 else ""
            )
            raise PriceFileError(f"{signals_path}: {len(days)} {what}: {listed}")
    return span


def backtest_files(prices_path: Path, signals_path: Path, rules: Rules, risk_free_rate: float = 0.0) -> dict:
    """Metrics of external signals traded under `rules`, beside Buy-and-Hold on the same bars."""
    prices = read_price_file(prices_path)
    signals = read_signal_file(signals_path)
    bars = align(prices, signals, prices_path, signals_path)
    return {
        "strategy": strategy_metrics(run_backtest(bars, signals.to_numpy(), rules), rules.cash, risk_free_rate),
        "buy_and_hold": strategy_metrics(buy_and_hold(bars, rules), rules.cash, risk_free_rate),
        "start": str(bars["Date"].iloc[0].date()),
        "end": str(bars["Date"].iloc[-1].date()),
    }
