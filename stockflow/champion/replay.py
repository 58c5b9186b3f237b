"""The retraining schedule simulated over history (`stockflow replay`), to see whether retraining pays.

At each as-of date a model is trained on the bars up to that date only, scored
on its own test window, and put through the promotion gate against the
champion of the moment. The champion then trades the days up to the next
as-of date. The stitched out-of-sample result is compared with "train once"
(the first model trades everything) and Buy-and-Hold over the same bars.
Pure: bars and params in, steps and their out-of-sample outcome out; `tasks/commands/replay.py`
records them and `flows/replay.py` orders the steps.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from stockflow.champion.promotion import Decision, decide, forecasts_on, score_window
from stockflow.config import Params
from stockflow.data.prices import next_dates
from stockflow.ticker.dataset import make_dataset
from stockflow.ticker.forecast_metrics import mae_ratio
from stockflow.ticker.forecaster import Forecaster, fit_forecaster
from stockflow.trading.backtest import BacktestResult, Rules, buy_and_hold, run_backtest
from stockflow.trading.optimise import trading_window
from stockflow.trading.performance import strategy_metrics

EVERY = re.compile(r"^(\d+)\s*([DWMY])$", re.IGNORECASE)


def parse_every(text: str) -> pd.DateOffset:
    """'3M' -> three months; D, W, M, Y for days, weeks, months, years."""
    match = EVERY.match(text.strip())
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"--every {text!r}: use a count and a unit, e.g. 10D, 2W, 3M, 1Y")
    n, unit = int(match.group(1)), match.group(2).upper()
    return pd.DateOffset(**{{"D": "days", "W": "weeks", "M": "months", "Y": "years"}[unit]: n})


def as_of_dates(prices: pd.DataFrame, start: str, every: str, end: str | None = None) -> list[pd.Timestamp]:
    """The retraining dates: `start`, then every `every`, while inside the data (or before `end`)."""
    try:
        first, last = pd.Timestamp(start), pd.Timestamp(end) if end else prices["Date"].max()
    except ValueError:
        raise ValueError(f"--start {start!r} / --end {end!r}: use dates such as 2015-01-01") from None
    if first <= prices["Date"].min() or first >= last:
        raise ValueError(f"--start {start} must lie inside the data ({prices['Date'].min().date()} .. {last.date()})")
    dates, step = [], parse_every(every)
    while first < last:
        dates.append(first)
        first = first + step
    return dates


@dataclass(frozen=True)
class Step:
    """One retraining date: the model trained then, the gate's decision, and the period it would trade."""

    as_of: pd.Timestamp
    until: pd.Timestamp
    forecaster: Forecaster
    decision: Decision


@dataclass(frozen=True)
class Fitted:
    """A model trained at an as-of date: itself, its test-window forecasts, and its training window."""

    forecaster: Forecaster
    test: pd.DataFrame  # date, target_date, close, actual, forecast
    train_window: tuple[pd.Timestamp, pd.Timestamp]  # first and last training decision day


def fit_at(prices: pd.DataFrame, params: Params) -> Fitted:
    """A model trained on `prices` (already cut at the as-of date), with its own test-window forecasts."""
    data = make_dataset(prices, params.preprocess)
    forecaster, _ = fit_forecaster(data, params.train)
    dates = pd.to_datetime(data.dates["test"])
    test = pd.DataFrame(
        {
            "date": dates,
            "target_date": dates.map(next_dates(prices["Date"])),
            "close": data.close["test"],
            "actual": data.next_close["test"],
        }
    )
    test = test.assign(forecast=forecasts_on(forecaster.forecast, prices, test["date"]).to_numpy())
    train = pd.to_datetime(data.dates["train"])
    return Fitted(forecaster, test, (train[0], train[-1]))


def train_at(prices: pd.DataFrame, params: Params) -> tuple[Forecaster, pd.DataFrame]:
    """A model trained on `prices` (already cut at the as-of date) and its own test-window forecasts."""
    fitted = fit_at(prices, params)
    return fitted.forecaster, fitted.test


def period_frame(prices: pd.DataFrame, start: pd.Timestamp, stop: pd.Timestamp) -> pd.DataFrame:
    """Decision days in [start, stop) that have a next day in the data, with that day and its close."""
    p = prices.reset_index(drop=True)
    nxt = p["Date"].shift(-1)
    mask = (p["Date"] >= start) & (p["Date"] < stop) & nxt.notna()
    return pd.DataFrame(
        {"date": p.loc[mask, "Date"], "target_date": nxt[mask], "close": p.loc[mask, "Close"],
         "actual": p["Close"].shift(-1)[mask]}
    ).reset_index(drop=True)  # fmt: skip


def step(prices: pd.DataFrame, params: Params, as_of: pd.Timestamp, champion: Forecaster | None,
         fitted: Fitted | None = None) -> tuple:  # fmt: skip
    """Train at `as_of` (or take `fitted`, trained there), score challenger and champion on its test window, decide."""
    seen = prices[prices["Date"] <= as_of].reset_index(drop=True)
    fitted = fitted or fit_at(seen, params)
    test = fitted.test
    ours = score_window(seen, test, test["forecast"], params.backtest)
    theirs = None
    if champion is not None:
        theirs = score_window(seen, test, forecasts_on(champion.forecast, seen, test["date"]), params.backtest)
    return fitted.forecaster, decide(ours, theirs, params.promote)


def _mae_ratio(frame: pd.DataFrame) -> float:
    return mae_ratio(frame["actual"], frame["forecast"], frame["close"])


def trade(prices: pd.DataFrame, frame: pd.DataFrame, params: Params) -> BacktestResult:
    """The forecasts in `frame` traded under the params' rules."""
    p = params.backtest
    window = trading_window(prices, frame)
    return run_backtest(window.bars, window.signals(p.threshold, p.allow_short), Rules.from_params(p))


def outcome(prices: pd.DataFrame, steps: list[Step], params: Params) -> tuple[pd.DataFrame, pd.DataFrame, dict]:
    """Per-step table, stitched equity curves and their metrics, all out of sample."""
    rows, champion_frames, once_frames = [], [], []
    champion, holder = None, 0
    for k, s in enumerate(steps):
        if s.decision.promote:
            champion, holder = s.forecaster, k + 1
        period = period_frame(prices, s.as_of, s.until)
        visible = prices[prices["Date"] <= s.until]
        row = {
            "as_of": s.as_of.date(),
            "version": f"v{k + 1}",
            "decision": "promoted" if s.decision.promote else "rejected",
            "test_mae_ratio": s.decision.challenger.mae_ratio,
            "champion": f"v{holder}" if champion is not None else "-",
            "days": len(period),
        }
        if champion is not None and len(period):
            champ = period.assign(forecast=forecasts_on(champion.forecast, visible, period["date"]).to_numpy())
            first = steps[0].forecaster.forecast
            once = period.assign(forecast=forecasts_on(first, visible, period["date"]).to_numpy())
            champion_frames.append(champ)
            once_frames.append(once)
            row["period_mae_ratio"] = _mae_ratio(champ)
        rows.append(row)
    table = pd.DataFrame(rows)
    if not champion_frames:
        return table, pd.DataFrame(), {}
    p = params.backtest
    champ_all, once_all = pd.concat(champion_frames, ignore_index=True), pd.concat(once_frames, ignore_index=True)
    results = {
        "current_champion": trade(prices, champ_all, params),
        "train_once": trade(prices, once_all, params),
        "buy_and_hold": buy_and_hold(trading_window(prices, champ_all).bars, Rules.from_params(p)),
    }
    equity = pd.DataFrame({name: r.equity for name, r in results.items()})
    metrics = {name: strategy_metrics(r, p.cash, p.risk_free_rate) for name, r in results.items()}
    metrics["current_champion"]["mae_ratio"] = _mae_ratio(champ_all)
    metrics["train_once"]["mae_ratio"] = _mae_ratio(once_all)
    return table, equity, metrics
