"""Retraining policies replayed over history: on a clock (`every:3M`), on the monitor's alarm (`alarm`), or `once`.

Every policy starts from the same model, trained at `start` on the bars up to it, and
the champion of the moment forecasts each next bar. After each close a policy may
retrain on the bars up to that close: `every:N` on its dates, `alarm` when the
monitor's own tests (`stockflow/champion/monitoring.py`, what `stockflow monitor` runs, with its
minimum of live days and its cool-down) say decayed or drifted, `once` never. A
retrained model replaces the champion only through the gate, as in production; the
first model is champion whatever the gate says (every policy needs one from day one).
The outcome is out of sample throughout: each forecast comes from a model trained on
bars before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from stockflow.champion import monitoring
from stockflow.champion.replay import Fitted, fit_at, parse_every, step, trade
from stockflow.config import Params
from stockflow.ticker.forecast_metrics import mae_ratio
from stockflow.trading.backtest import Rules, buy_and_hold
from stockflow.trading.optimise import trading_window
from stockflow.trading.performance import strategy_metrics

POLICY = re.compile(r"^(?:every:(?P<every>\S+)|(?P<name>alarm|once))$", re.IGNORECASE)


@dataclass(frozen=True)
class Policy:
    """When to retrain: `every` (a clock), on `alarm`, or `once`."""

    name: str
    every: pd.DateOffset | None = None


def parse_policy(text: str) -> Policy:
    """'every:3M', 'alarm' or 'once'; ValueError otherwise."""
    match = POLICY.match(text.strip())
    if not match:
        raise ValueError(f"--policy {text!r}: use every:<count><D|W|M|Y> (every:3M), alarm or once")
    if match.group("every"):
        return Policy(f"every:{match.group('every').upper()}", parse_every(match.group("every")))
    return Policy(match.group("name").lower())


@dataclass
class Reign:
    """A champion as the monitor sees it: its forecast for every day, its calibration, its alarms."""

    fitted: Fitted
    data_through: pd.Timestamp
    days: pd.DataFrame  # monitoring.day_frame with this champion's forecasts, decision days up to the end
    live: pd.DataFrame  # its days after data_through
    decay_from: pd.Timestamp | None  # the target day its CUSUM first crossed the threshold
    calibration: monitoring.Calibration | None = None  # its decay test's, from its test window alone
    last_alarm: pd.Timestamp | None = None
    drift_alarmed: bool = False

    def forecast_on(self, day: pd.Timestamp) -> pd.Series:
        """The row of `day`: the forecast this champion made at its close."""
        if not hasattr(self, "_by_date"):
            self._by_date = self.days.set_index("date", drop=False)
        return self._by_date.loc[day]


def reign(fitted: Fitted, prices: pd.DataFrame, as_of: pd.Timestamp, params: Params) -> Reign:
    """Everything the monitor will know of a champion trained at `as_of`, computed once (each day only reads it)."""
    days = monitoring.day_frame(prices, fitted.forecaster.forecast(prices))
    test = monitoring.window(days, fitted.test["date"].min(), fitted.test["date"].max())
    cal = monitoring.calibrate_on(test, params.monitor)  # the monitor's own calibration: the test window only
    through = prices.loc[prices["Date"] <= as_of, "Date"].max()
    live = monitoring.live_days(days, through)
    decay = monitoring.decay_test(monitoring.loss_differential(live), cal)
    first = live["target_date"].iloc[decay.alarm_day] if decay.alarmed else None
    return Reign(fitted, through, days, live, first, cal)


def verdict_on(r: Reign, today: pd.Timestamp, inputs: pd.DataFrame, params: Params) -> tuple[str, bool]:
    """What `stockflow monitor` would have said after the close of `today` (only live days it had seen), and whether
    its drift, if any, went against the champion (a wilder market: the drift that alarms)."""
    p = params.monitor
    seen = int((r.live["target_date"] <= today).sum())
    if seen < p.min_days:
        return "too few days", False
    if r.decay_from is not None and r.decay_from <= today:
        return "decayed", False
    known = inputs[inputs["date"] <= today]
    drift = monitoring.drift_test(*monitoring.input_windows(known, r.fitted.train_window, r.data_through,
                                                            p.drift_window), p)  # fmt: skip
    said = monitoring.verdict(seen, False, any(v["drifted"] for v in drift.values()), p.min_days)
    return said, monitoring.adverse_drift(drift)


@dataclass
class Outcome:
    """A policy's stitched out-of-sample record."""

    policy: str
    forecasts: pd.DataFrame  # date, target_date, close, actual, forecast: the champion of each day
    retrains: list[pd.Timestamp] = field(default_factory=list)  # after the first model
    promotions: list[pd.Timestamp] = field(default_factory=list)
    alarms: list[tuple[pd.Timestamp, str]] = field(default_factory=list)


def simulate(prices: pd.DataFrame, params: Params, policy: Policy, start: pd.Timestamp, end: pd.Timestamp,
             fits: dict[pd.Timestamp, Fitted] | None = None, on_day: Any = None) -> Outcome:  # fmt: skip
    """Replay `policy` from `start` to `end`; `fits` caches models by as-of date across policies."""
    fits = {} if fits is None else fits
    prices = prices[prices["Date"] <= end].reset_index(drop=True)
    inputs = monitoring.model_inputs(prices)

    def fit(as_of: pd.Timestamp) -> Fitted:
        if as_of not in fits:
            fits[as_of] = fit_at(prices[prices["Date"] <= as_of].reset_index(drop=True), params)
        return fits[as_of]

    decision = prices.loc[(prices["Date"] >= start) & (prices["Date"] < prices["Date"].iloc[-1]), "Date"]
    first = decision.iloc[0]
    current = reign(fit(first), prices, first, params)
    out = Outcome(policy.name, pd.DataFrame())
    clock = first + policy.every if policy.every is not None else None
    rows = []
    for today in decision:
        retrain = False
        if clock is not None and today >= clock:
            retrain = True
            while clock <= today:
                clock = clock + policy.every
        elif policy.name == "alarm":
            said, adverse = verdict_on(current, today, inputs, params)
            since = (
                None
                if current.last_alarm is None
                else int(
                    ((current.live["target_date"] > current.last_alarm) & (current.live["target_date"] <= today)).sum()
                )
            )
            if monitoring.alarm_due(said, since, params.monitor.cooldown_days, current.drift_alarmed, adverse):
                out.alarms.append((today, said))
                current.last_alarm = today
                current.drift_alarmed |= said == "drifted"
                retrain = True
        if retrain:
            fitted = fit(today)
            _, decided = step(prices, params, today, current.fitted.forecaster, fitted)
            out.retrains.append(today)
            if decided.promote:
                out.promotions.append(today)
                current = reign(fitted, prices, today, params)
        rows.append(current.forecast_on(today))
        if on_day is not None:
            on_day()
    out.forecasts = pd.DataFrame(rows)[["date", "target_date", "close", "actual", "forecast"]].reset_index(drop=True)
    return out


def scores(prices: pd.DataFrame, outcome: Outcome, params: Params) -> tuple[dict[str, Any], pd.Series]:
    """The figures a policy is judged by (stitched MAE ratio to persistence, net Sharpe, retrains, alarms), and its
    equity curve."""
    f = outcome.forecasts
    traded = trade(prices, f, params)
    metrics = strategy_metrics(traded, params.backtest.cash, params.backtest.risk_free_rate)
    return {
        "mae_ratio": mae_ratio(f["actual"], f["forecast"], f["close"]),
        "sharpe": metrics["sharpe"],
        "total_return": metrics["total_return"],
        "max_drawdown": metrics["max_drawdown"],
        "retrains": len(outcome.retrains),
        "promotions": len(outcome.promotions),
        "alarms": len(outcome.alarms),
        "days": len(f),
    }, traded.equity


def hold_equity(prices: pd.DataFrame, forecasts: pd.DataFrame, params: Params) -> pd.Series:
    """Buy-and-Hold's equity over the bars the policies traded, with the same costs."""
    return buy_and_hold(trading_window(prices, forecasts).bars, Rules.from_params(params.backtest)).equity
