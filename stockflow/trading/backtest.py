"""Event-by-event backtest of daily signals with stops, costs and next-open fills.

Execution rules (README, "Backtest rules", says the same; each has a test):

1. signals[t] is decided at bar t's close; it fills at bar t+1's open.
2. Position size is all equity, in fractional units (whole units optional).
3. Stop-loss and take-profit are fractions of the fill price and are live from
   the entry bar itself. A bar that opens beyond a level fills at its open.
   When one bar reaches both, the stop-loss wins.
4. An exit signal fills at the next open, before that bar's intrabar stops.
   After a stop or target exit, a signal that still asks for the position
   re-enters at the next open.
5. Commission is a fraction of traded value on every fill. Slippage moves
   every market fill (signal entries and exits, stop-loss exits) against the
   trader; a take-profit is a limit order and fills at its level, or at a
   better open.
6. A position still open after the last bar is valued at the last close and
   reported as a trade with exit reason "end"; no exit cost is charged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from stockflow.trading.settings import BacktestParams


@dataclass(frozen=True)
class Rules:
    """What the engine needs to know. Its defaults are neutral (no costs, no stops, long only);
    the product's settings come from params (`Rules.from_params`)."""

    cash: float
    commission: float = 0.0
    slippage: float = 0.0
    stop_loss: float | None = None
    take_profit: float | None = None
    allow_short: bool = False
    whole_units: bool = False

    @classmethod
    def from_params(cls, p: BacktestParams) -> Rules:
        return cls(
            cash=p.cash,
            commission=p.commission,
            slippage=p.slippage,
            stop_loss=p.stop_loss,
            take_profit=p.take_profit,
            allow_short=p.allow_short,
            whole_units=p.whole_units,
        )

    def without_costs(self) -> Rules:
        return replace(self, commission=0.0, slippage=0.0)

    def without_stops(self) -> Rules:
        return replace(self, stop_loss=None, take_profit=None)


@dataclass(frozen=True)
class BacktestResult:
    """What a backtest gives: the equity curve, the position held, the round trips and the costs."""

    equity: pd.Series  # value at each bar's close
    position: pd.Series  # signed units held at each bar's close
    trades: pd.DataFrame  # one row per round trip
    costs: float  # commission paid plus slippage given up


TRADE_COLUMNS = [
    "side", "entry_date", "entry_price", "exit_date", "exit_price", "units", "exit_reason", "pnl", "return",
]  # fmt: skip


def checked_signals(bars: pd.DataFrame, signals: np.ndarray | pd.Series, rules: Rules) -> np.ndarray:
    """`signals` as floats, one per bar, each -1, 0 or 1; shorts flattened when the rules forbid them."""
    sig = np.asarray(signals, dtype=float)
    if len(sig) != len(bars):
        raise ValueError(f"{len(sig)} signals for {len(bars)} bars")
    if np.isnan(sig).any() or not np.isin(sig, (-1.0, 0.0, 1.0)).all():
        raise ValueError("signals must be -1, 0 or 1")
    return sig if rules.allow_short else np.maximum(sig, 0.0)


def bar_dates(bars: pd.DataFrame) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(bars["Date"] if "Date" in bars.columns else bars.index)


def run_backtest(bars: pd.DataFrame, signals: np.ndarray | pd.Series, rules: Rules) -> BacktestResult:
    """Simulate `signals` (-1, 0, 1 per bar, decided at that bar's close) on OHLC `bars`.

    `bars` has columns Open, High, Low, Close and a Date column or index.
    """
    sig = checked_signals(bars, signals, rules)
    dates = bar_dates(bars)
    # Plain Python floats: a scalar loop over lists is several times faster than over numpy.
    opens, highs, lows, closes = (bars[c].astype(float).tolist() for c in ("Open", "High", "Low", "Close"))
    want_list = sig.tolist()
    sl, tp = rules.stop_loss, rules.take_profit
    comm, slip, whole = rules.commission, rules.slippage, rules.whole_units

    cash = float(rules.cash)
    units = 0.0  # signed
    side = 0
    entry_px = stop_px = target_px = 0.0
    entry_i = -1
    costs = 0.0
    equity = [0.0] * len(opens)
    position = [0.0] * len(opens)
    trades: list[tuple] = []

    def close_position(i: int, raw_px: float, market: bool, reason: str) -> None:
        nonlocal cash, units, side, costs
        px = raw_px * (1 - slip * side) if market else raw_px
        qty = abs(units)
        fee = qty * px * comm
        cash += units * px - fee
        costs += fee + qty * abs(px - raw_px)
        pnl = side * qty * (px - entry_px) - fee - entry_fee
        trades.append((side, entry_i, entry_px, i, px, qty, reason, pnl, side * (px / entry_px - 1.0)))
        units, side = 0.0, 0

    entry_fee = 0.0
    for i in range(len(opens)):
        o = opens[i]
        want = int(want_list[i - 1]) if i > 0 else 0
        if want != side:
            if side != 0:
                close_position(i, o, True, "signal")
            if want != 0:
                px = o * (1 + slip * want)
                qty = cash / (px * (1 + comm))
                if whole:
                    qty = math.floor(qty)
                if qty > 0:
                    entry_fee = qty * px * comm
                    cash -= want * qty * px + entry_fee
                    costs += entry_fee + qty * abs(px - o)
                    units, side, entry_px, entry_i = want * qty, want, px, i
                    stop_px = px * (1 - side * sl) if sl else 0.0
                    target_px = px * (1 + side * tp) if tp else 0.0
        if side != 0:
            h, lo = highs[i], lows[i]
            # Compare in the long direction: for a short, flip signs so one rule serves both.
            if side == 1:
                gap_stop = sl and o <= stop_px
                gap_target = tp and o >= target_px
                hit_stop = sl and lo <= stop_px
                hit_target = tp and h >= target_px
            else:
                gap_stop = sl and o >= stop_px
                gap_target = tp and o <= target_px
                hit_stop = sl and h >= stop_px
                hit_target = tp and lo <= target_px
            if gap_stop:
                close_position(i, o, True, "stop_loss")
            elif gap_target:
                close_position(i, o, False, "take_profit")
            elif hit_stop:
                close_position(i, stop_px, True, "stop_loss")
            elif hit_target:
                close_position(i, target_px, False, "take_profit")
        equity[i] = cash + units * closes[i]
        position[i] = units
    if side != 0:
        last = len(opens) - 1
        pnl = side * abs(units) * (closes[last] - entry_px) - entry_fee
        trades.append(
            (side, entry_i, entry_px, last, closes[last], abs(units), "end", pnl,
             side * (closes[last] / entry_px - 1.0))
        )  # fmt: skip
    # Bars are recorded by position in the loop (indexing a DatetimeIndex per trade is slow) and dated here.
    table = pd.DataFrame(trades, columns=TRADE_COLUMNS)
    table["entry_date"] = dates[table["entry_date"].to_numpy(dtype=int)]
    table["exit_date"] = dates[table["exit_date"].to_numpy(dtype=int)]
    return BacktestResult(
        equity=pd.Series(equity, index=dates, name="equity"),
        position=pd.Series(position, index=dates, name="position"),
        trades=table,
        costs=costs,
    )


def buy_and_hold(bars: pd.DataFrame, rules: Rules) -> BacktestResult:
    """Long from the first open to the end, with the same cash and costs and no stops."""
    return run_backtest(bars, np.ones(len(bars), dtype=int), replace(rules.without_stops(), allow_short=False))


def forecast_signals(
    close_today: np.ndarray, forecast: np.ndarray, threshold: float = 0.0, allow_short: bool = False
) -> np.ndarray:
    """Long when the forecast return beats `threshold`; short below -threshold if allowed; else flat."""
    expected = np.asarray(forecast, dtype=float) / np.asarray(close_today, dtype=float) - 1.0
    sig = np.where(expected > threshold, 1, 0)
    if allow_short:
        sig = np.where(expected < -threshold, -1, sig)
    return sig.astype(int)
