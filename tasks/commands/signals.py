"""`stockflow backtest`: signals from anywhere, traded under stockflow's rules beside Buy-and-Hold.

A CSV of Date and one column of -1/0/1, one row per trading day of the price file
over the span it covers. Dates that do not line up, NaN prices and values outside
{-1, 0, 1} are refused with the file, column and rows named.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stockflow.errors import PriceFileError
from stockflow.trading.backtest import Rules, buy_and_hold, run_backtest
from stockflow.trading.performance import strategy_metrics
from tasks.services.files import read_price_file


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
