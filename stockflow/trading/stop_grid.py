"""Many stop-loss / take-profit pairs traded on one series of signals at once, by `backtest.run_backtest`'s rules.

Why it can be done at once: with fractional units, a trade's outcome is a multiple
of the cash it starts with, so where each trade ends depends only on the bar it
enters and the pair's two levels, not on what came before. So:

1. for every bar a trade could enter on and every stop (or target) level, the
   first bar that reaches the level is found by binary lifting over a sparse
   table of running extremes (log2(bars) steps for all of them together);
2. a pair's exit from each possible entry is the earlier of its stop and target,
   else the signal's change; from the exit follows the next entry;
3. the trades chain from the first entry, one step for every pair in step;
4. cash compounds trade by trade, and each bar's equity is its trade's multiple.

Whole units make a trade depend on its cash; those rules, and any pair whose cash
would reach zero (a short gone wrong), are traded by the event loop instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
import pandas as pd

from stockflow.trading.backtest import TRADE_COLUMNS, BacktestResult, Rules, bar_dates, checked_signals, run_backtest
from stockflow.trading.performance import equity_metrics_rows, trade_metrics_rows

Stops = Sequence[tuple[float | None, float | None]]  # (stop_loss, take_profit) per pair; None = off

_REASONS = ["signal", "stop_loss", "take_profit", "end"]
_SIGNAL, _STOP, _TARGET, _END = range(4)


@dataclass(frozen=True)
class StopGrid:
    """The backtests of every (stop_loss, take_profit) pair: row k of each array is pair k."""

    stops: list[tuple[float | None, float | None]]
    dates: pd.DatetimeIndex
    equity: np.ndarray  # (pairs, bars): value at each bar's close
    position: np.ndarray  # (pairs, bars): signed units held at each bar's close
    costs: np.ndarray  # (pairs,)
    # TRADE_COLUMNS plus "pair", in pair then time order; exit reasons as codes into _REASONS. Arrays, not a
    # table: the search needs two of them, and a table of 100 pairs' trades costs as much as their backtests.
    trade_columns: dict[str, np.ndarray]

    @cached_property
    def trades(self) -> pd.DataFrame:
        """Every pair's trades, in `run_backtest`'s columns plus "pair"."""
        columns = dict(self.trade_columns)
        columns["exit_reason"] = pd.Categorical.from_codes(columns["exit_reason"], _REASONS)
        return pd.DataFrame(columns, columns=[*TRADE_COLUMNS, "pair"])

    def result(self, k: int) -> BacktestResult:
        """Pair k's backtest in `run_backtest`'s shape."""
        trades = self.trades[self.trades["pair"] == k].drop(columns="pair").reset_index(drop=True)
        trades["exit_reason"] = trades["exit_reason"].astype(str)
        return BacktestResult(
            equity=pd.Series(self.equity[k], index=self.dates, name="equity"),
            position=pd.Series(self.position[k], index=self.dates, name="position"),
            trades=trades,
            costs=float(self.costs[k]),
        )

    def metrics(self, initial: float, risk_free_rate: float = 0.0) -> list[dict[str, float]]:
        """`strategy_metrics` of every pair, in the order of `stops`."""
        rows = {
            **equity_metrics_rows(self.equity, initial, risk_free_rate),
            **trade_metrics_rows(
                self.trade_columns["pnl"],
                self.trade_columns["pair"],
                len(self.stops),
                np.mean(self.position != 0, axis=1),
                self.costs,
            ),
        }
        return [{name: float(values[k]) for name, values in rows.items()} for k in range(len(self.stops))]


def backtest_stops(bars: pd.DataFrame, signals: np.ndarray | pd.Series, rules: Rules, stops: Stops) -> StopGrid:
    """Trade `signals` on `bars` under `rules` once per (stop_loss, take_profit) pair of `stops`.

    Pair k's figures equal `run_backtest(bars, signals, replace(rules, stop_loss=.., take_profit=..))`'s
    to rounding (the tests compare them).
    """
    stops = [(sl, tp) for sl, tp in stops]
    sig = checked_signals(bars, signals, rules)
    dates = bar_dates(bars)
    if rules.whole_units or not stops:
        return _one_at_a_time(bars, sig, rules, stops, dates)
    grid = _at_once(bars, sig, rules, stops, dates)
    broke = np.flatnonzero(grid.pop("broke"))
    result = StopGrid(stops=stops, dates=dates, **grid)
    if len(broke):
        result = _replaced(result, broke, _one_at_a_time(bars, sig, rules, [stops[k] for k in broke], dates))
    return result


def _at_once(bars: pd.DataFrame, sig: np.ndarray, rules: Rules, stops: list, dates: pd.DatetimeIndex) -> dict:
    o, h, lo, c = (bars[col].to_numpy(dtype=float) for col in ("Open", "High", "Low", "Close"))
    n, pairs = len(o), len(stops)
    slip, comm = rules.slippage, rules.commission
    bar = np.arange(n)

    # What each bar asks for (yesterday's signal) and the last bar of the run of equal asks it is in.
    want = np.concatenate([[0], sig[:-1]]).astype(int)
    run_start = np.flatnonzero(np.r_[True, want[1:] != want[:-1]])
    run_end = np.r_[run_start[1:] - 1, n - 1][np.cumsum(np.r_[True, want[1:] != want[:-1]]) - 1]
    # The first bar at or after i that asks for a position (n: none), for i = 0..n.
    asks = np.where(want != 0, bar, n)
    first_ask = np.r_[np.minimum.accumulate(asks[::-1])[::-1], n]

    entry_px = o * (1 + slip * want)  # a fill at bar i's open, if a trade enters there
    # Every level test is "series <= level": lows and opens for falls, minus highs and opens for rises.
    falls, rises = _sparse_minima(np.minimum(o, lo)), _sparse_minima(-np.maximum(o, h))

    sl_levels, sl_of_pair = _levels([sl for sl, _ in stops])
    tp_levels, tp_of_pair = _levels([tp for _, tp in stops])
    entries = np.flatnonzero(want != 0)
    long = want[entries] == 1
    stop_hit = _first_hits(falls, rises, entries, long, run_end, entry_px, sl_levels, n, stop=True)
    target_hit = _first_hits(falls, rises, entries, long, run_end, entry_px, tp_levels, n, stop=False)

    # Per pair and possible entry (the columns are `entries`): the exit bar by a level (n + 1: none in the
    # run), and as a column the next entry after it (m: none).
    m = len(entries)
    hit = np.minimum(stop_hit[sl_of_pair], target_hit[tp_of_pair])
    ends = run_end[entries].astype(np.int32)
    column_of_first_ask = np.searchsorted(entries, first_ask).astype(np.int32)
    next_column = column_of_first_ask[np.where(hit <= ends, hit + 1, ends + 1)]
    next_column = np.concatenate([next_column, np.full((pairs, 1), m, dtype=np.int32)], axis=1).ravel()

    # Chain the trades of all pairs in step; the end is checked every 16 steps (a check costs more than a
    # step, and a step from "none" stays at none).
    offsets = np.arange(pairs, dtype=np.int32) * (m + 1)
    steps, current = [], np.full(pairs, column_of_first_ask[0])
    while (current < m).any():
        for _ in range(16):
            steps.append(current)
            current = next_column[offsets + current]
    chain = np.stack(steps, axis=1) if steps else np.empty((pairs, 0), dtype=np.int32)
    taken = chain < m
    pair, _ = np.nonzero(taken)
    a = entries[chain[taken]]
    j = hit[pair, chain[taken]]
    if not len(a):
        return _no_trades(rules, pairs, n)

    # Each trade: its fill, its exit and why, and its cash multiple.
    side = want[a]
    px = entry_px[a]
    sl = np.array([s or 0.0 for s, _ in stops])[pair]
    tp = np.array([t or 0.0 for _, t in stops])[pair]
    stop_px, target_px = px * (1 - side * sl), px * (1 + side * tp)
    end_of_run = run_end[a]
    by_level = j <= end_of_run
    at = np.minimum(np.where(by_level, j, end_of_run + 1), n - 1)
    oj = o[at]
    rising = side == 1
    gap_stop = (sl > 0) & np.where(rising, oj <= stop_px, oj >= stop_px)
    gap_target = (tp > 0) & np.where(rising, oj >= target_px, oj <= target_px)
    hit_stop = (sl > 0) & np.where(rising, lo[at] <= stop_px, h[at] >= stop_px)
    is_stop = gap_stop | (~gap_target & hit_stop)
    level_px = np.select([gap_stop | gap_target, hit_stop], [oj, stop_px], target_px)
    ends = ~by_level & (end_of_run == n - 1)
    reason = np.select([ends, ~by_level, is_stop], [_END, _SIGNAL, _STOP], _TARGET)
    raw = np.where(by_level, level_px, oj)
    market = reason != _TARGET
    exit_px = np.where(ends, c[-1], np.where(market, raw * (1 - slip * side), raw))
    exit_bar = np.where(ends, n, at)

    per_cash = 1.0 / (px * (1 + comm))  # units bought per unit of cash
    after_entry = 1.0 - per_cash * px * (side + comm)  # cash left per unit of cash, after the fill and fee
    multiple = np.where(ends, 1.0, after_entry + per_cash * exit_px * (side - comm))
    grown = np.ones(chain.shape)
    grown[taken] = multiple
    before = rules.cash * np.concatenate([np.ones((pairs, 1)), np.cumprod(grown, axis=1)[:, :-1]], axis=1)
    cash = before[taken]
    broke = np.zeros(pairs, dtype=bool)
    broke[pair[cash <= 0]] = True

    units = cash * per_cash
    entry_fee = units * px * comm
    exit_fee = np.where(ends, 0.0, units * exit_px * comm)
    slipped = units * (np.abs(px - o[a]) + np.where(ends, 0.0, np.abs(exit_px - raw)))
    costs = np.bincount(pair, weights=entry_fee + exit_fee + slipped, minlength=pairs)

    # Each pair's bars fall into segments: before its first trade, then per trade held and flat after it.
    # Within a segment equity is level + slope * close, so it is written by repeating each segment's pair.
    later_same_pair = np.r_[pair[1:] == pair[:-1], False]
    next_a = np.where(later_same_pair, np.r_[a[1:], n], n)
    held, flat = exit_bar - a, next_a - exit_bar
    counts = np.bincount(pair, minlength=pairs)
    first_a = np.full(pairs, n)
    first_a[pair[np.r_[True, ~later_same_pair[:-1]]]] = a[np.r_[True, ~later_same_pair[:-1]]]
    before_first = 2 * np.r_[0, np.cumsum(counts)[:-1]]  # where each pair's segments begin

    def segments(lead: float, holding: np.ndarray, after: np.ndarray) -> np.ndarray:
        return np.insert(np.stack([holding, after], axis=1).ravel(), before_first, lead)

    length = segments(0, held, flat)
    length[before_first + np.arange(pairs)] = first_a
    level = np.repeat(segments(rules.cash, cash * after_entry, cash * multiple), length).reshape(pairs, n)
    position = np.repeat(segments(0.0, side * units, np.zeros(len(a))), length).reshape(pairs, n)
    equity = level + position * c  # the slope of equity against the close is the units held

    trades = {
        "side": side,
        "entry_date": dates.values[a],
        "entry_price": px,
        "exit_date": dates.values[np.minimum(exit_bar, n - 1)],
        "exit_price": exit_px,
        "units": units,
        "exit_reason": reason,
        "pnl": side * units * (exit_px - px) - exit_fee - entry_fee,
        "return": side * (exit_px / px - 1.0),
        "pair": pair,
    }
    return {"equity": equity, "position": position, "costs": costs, "trade_columns": trades, "broke": broke}


def _levels(values: list[float | None]) -> tuple[np.ndarray, np.ndarray]:
    """The distinct levels in use, and for each pair the row of its level (0: off)."""
    used = sorted({v for v in values if v})
    row = {v: i + 1 for i, v in enumerate(used)}
    return np.array(used, dtype=float), np.array([row.get(v, 0) if v else 0 for v in values], dtype=int)


def _sparse_minima(x: np.ndarray) -> list[np.ndarray]:
    """table[k][i] = min(x[i : i + 2**k]), clipped at the end; enough levels to span x."""
    table = [x]
    while (1 << len(table)) <= len(x):
        prev, half = table[-1], 1 << (len(table) - 1)
        table.append(np.minimum(prev, prev[np.minimum(np.arange(len(x)) + half, len(x) - 1)]))
    return table


def _first_at_or_below(table: list[np.ndarray], start: np.ndarray, last: np.ndarray, level: np.ndarray) -> np.ndarray:
    """First i in [start, last] with x[i] <= level, else last + 1: jump the longest block with none, halving."""
    pos, n = start.copy(), len(table[0])
    for k in range(len(table) - 1, -1, -1):
        step = 1 << k
        clear = (pos + step - 1 <= last) & (table[k][np.minimum(pos, n - 1)] > level)
        pos = np.where(clear, pos + step, pos)
    return pos


def _first_hits(falls, rises, entries, long, run_end, entry_px, levels, n, stop: bool) -> np.ndarray:
    """(1 + levels, entries): the first bar at which a trade entered on each of `entries` reaches each level,
    n + 1 when it does not before its run of signals ends (row 0: the level is off)."""
    hits = np.full((1 + len(levels), len(entries)), n + 1, dtype=np.int32)
    if not len(levels) or not len(entries):
        return hits
    side = np.where(long, 1, -1)
    px = entry_px[entries][None, :]
    # A stop is below a long's fill and above a short's; a target the other way round.
    level_px = px * (1 - side * levels[:, None]) if stop else px * (1 + side * levels[:, None])
    start = np.broadcast_to(entries, level_px.shape)
    last = np.broadcast_to(run_end[entries], level_px.shape)
    falling = np.broadcast_to(long == stop, level_px.shape)  # long stop or short target: a fall reaches it
    found = np.empty(level_px.shape, dtype=np.int32)
    if falling.any():
        found[falling] = _first_at_or_below(falls, start[falling], last[falling], level_px[falling])
    if (~falling).any():
        found[~falling] = _first_at_or_below(rises, start[~falling], last[~falling], -level_px[~falling])
    hits[1:] = found
    return hits


def _no_trades(rules: Rules, pairs: int, n: int) -> dict:
    return {
        "equity": np.full((pairs, n), float(rules.cash)),
        "position": np.zeros((pairs, n)),
        "costs": np.zeros(pairs),
        "trade_columns": _columns(pd.DataFrame(columns=[*TRADE_COLUMNS, "pair"])),
        "broke": np.zeros(pairs, dtype=bool),
    }


def _one_at_a_time(bars, sig, rules: Rules, stops: list, dates: pd.DatetimeIndex) -> StopGrid:
    results = [run_backtest(bars, sig, replace(rules, stop_loss=sl, take_profit=tp)) for sl, tp in stops]
    n = len(dates)
    trades = [r.trades.assign(pair=k) for k, r in enumerate(results)]
    return StopGrid(
        stops=stops,
        dates=dates,
        equity=np.array([r.equity.to_numpy() for r in results]).reshape(len(results), n),
        position=np.array([r.position.to_numpy() for r in results]).reshape(len(results), n),
        costs=np.array([r.costs for r in results], dtype=float),
        trade_columns=_columns(
            pd.concat(trades, ignore_index=True) if trades else pd.DataFrame(columns=[*TRADE_COLUMNS, "pair"])
        ),
    )


def _columns(trades: pd.DataFrame) -> dict[str, np.ndarray]:
    """A table of trades (with "pair") as StopGrid's arrays."""
    columns = {name: trades[name].to_numpy() for name in [*TRADE_COLUMNS, "pair"]}
    columns["exit_reason"] = np.array([_REASONS.index(r) for r in columns["exit_reason"]], dtype=int)
    for name in ("pnl", "entry_price", "exit_price", "units", "return"):
        columns[name] = columns[name].astype(float)
    columns["pair"] = columns["pair"].astype(int)
    return columns


def _replaced(grid: StopGrid, rows: np.ndarray, redone: StopGrid) -> StopGrid:
    """`grid` with pairs `rows` taken from `redone` (traded one at a time)."""
    equity, position, costs = grid.equity.copy(), grid.position.copy(), grid.costs.copy()
    equity[rows], position[rows], costs[rows] = redone.equity, redone.position, redone.costs
    old, new = grid.trade_columns, dict(redone.trade_columns)
    new["pair"] = rows[new["pair"]]
    kept = ~np.isin(old["pair"], rows)
    merged = {name: np.concatenate([old[name][kept], new[name]]) for name in old}
    order = np.argsort(merged["pair"], kind="stable")
    columns = {name: values[order] for name, values in merged.items()}
    return replace(grid, equity=equity, position=position, costs=costs, trade_columns=columns)
