"""stockflow's backtest against an independent engine, backtesting.py, on the same signals and rules.

The reference is driven to our rules the way a trader would drive a broker:
the bracket (stop-loss, take-profit) is set from the fill price, i.e. the next
open; an exit signal cancels the bracket and closes at the next open. Sizes
are whole multiples of 1e-8 units (`FractionalBacktest`), so the two agree to
far better than the 1e-6 required here.

Slippage stays at zero in these runs: backtesting.py's `spread` moves entries
only, while ours moves every market fill; slippage has its own hand-checked
test in test_backtest_rules.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest

from stockflow.trading.backtest import Rules, forecast_signals, run_backtest
from stockflow.trading.performance import strategy_metrics

backtesting = pytest.importorskip("backtesting")
from backtesting import Strategy  # noqa: E402
from backtesting.lib import FractionalBacktest  # noqa: E402

UNIT = 1e-8


def reference(bars: pd.DataFrame, signals: np.ndarray, rules: Rules) -> pd.Series:
    """backtesting.py's stats for `signals` traded under `rules` (no slippage)."""
    data = bars.set_index("Date")[["Open", "High", "Low", "Close"]].assign(Volume=1e6)
    sig = np.asarray(signals, dtype=int)
    scaled_open = data["Open"].to_numpy() * UNIT  # what the strategy sees inside FractionalBacktest
    scaled_close = data["Close"].to_numpy() * UNIT
    comm, n = rules.commission, len(data)

    class FollowSignals(Strategy):
        def init(self):
            pass

        def next(self):
            i = len(self.data) - 1
            if i + 1 >= n:
                return
            size = self.position.size
            side = int(np.sign(size))
            want = int(sig[i]) if rules.allow_short else max(int(sig[i]), 0)
            if want == side:
                return
            fill = scaled_open[i + 1]
            equity = self.equity
            if side:
                for trade in self.trades:  # one-cancels-other: the exit replaces the bracket
                    trade.sl = None
                    trade.tp = None
                self.position.close()
                equity += size * (fill - scaled_close[i]) - abs(size) * fill * comm
            if want:
                units = int(equity // (fill * (1 + comm))) - 1  # one unit of headroom for float rounding
                sl = rules.stop_loss and fill * (1 - want * rules.stop_loss)
                tp = rules.take_profit and fill * (1 + want * rules.take_profit)
                order = (self.buy if want > 0 else self.sell)(size=units)
                # The bracket goes on after the order is placed: backtesting.py checks it against
                # today's close, but our levels come from tomorrow's open, which may gap past them.
                order._replace(sl_price=sl or None, tp_price=tp or None)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        bt = FractionalBacktest(data, FollowSignals, cash=rules.cash, commission=comm, fractional_unit=UNIT)
        return bt.run()


def assert_same(bars: pd.DataFrame, signals: np.ndarray, rules: Rules) -> tuple[pd.DataFrame, pd.Series]:
    signals = np.asarray(signals, dtype=int).copy()
    signals[0] = 0  # backtesting.py first calls the strategy on the second bar
    ours = run_backtest(bars, signals, rules)
    ref = reference(bars, signals, rules)
    theirs = ref["_trades"]
    closed = ours.trades[ours.trades["exit_reason"] != "end"].reset_index(drop=True)
    assert len(closed) == len(theirs)
    assert (closed["entry_date"].to_numpy() == theirs["EntryTime"].to_numpy()).all()
    assert (closed["exit_date"].to_numpy() == theirs["ExitTime"].to_numpy()).all()
    np.testing.assert_allclose(closed["entry_price"], theirs["EntryPrice"], rtol=1e-9)
    np.testing.assert_allclose(closed["exit_price"], theirs["ExitPrice"], rtol=1e-9)
    np.testing.assert_allclose(closed["units"], theirs["Size"].abs(), rtol=1e-6)
    np.testing.assert_allclose(closed["side"], np.sign(theirs["Size"]))
    assert math.isclose(ours.equity.iloc[-1], ref["Equity Final [$]"], rel_tol=1e-6)
    np.testing.assert_allclose(ours.equity.to_numpy(), ref["_equity_curve"]["Equity"].to_numpy(), rtol=1e-6)
    return closed, ref


def synthetic_bars(n: int, seed: int, gap: float = 0.004) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    prev = np.concatenate([[100.0], close[:-1]])
    open_ = prev * np.exp(rng.normal(0, gap, n))
    return pd.DataFrame(
        {
            "Date": pd.bdate_range("2001-01-01", periods=n),
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + rng.uniform(0, 0.02, n)),
            "Low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.02, n)),
            "Close": close,
        }
    )


RULES = [
    Rules(cash=10_000, commission=0.001, stop_loss=0.02, take_profit=0.04),
    Rules(cash=10_000, commission=0.0, stop_loss=0.01, take_profit=None),
    Rules(cash=10_000, commission=0.002, stop_loss=None, take_profit=0.015),
    Rules(cash=10_000, commission=0.001),
]


@pytest.mark.parametrize("rules", RULES, ids=["both", "stop-only", "target-only", "no-bracket"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_random_signals_on_synthetic_bars(rules, seed):
    bars = synthetic_bars(600, seed)
    signals = (np.random.default_rng(seed + 10).random(len(bars)) < 0.6).astype(int)
    closed, _ = assert_same(bars, signals, rules)
    assert len(closed) > 20  # enough trades for the comparison to mean something


@pytest.mark.parametrize("seed", [3, 4])
def test_long_short_signals(seed):
    bars = synthetic_bars(500, seed)
    signals = np.random.default_rng(seed).choice([-1, 0, 1], size=len(bars), p=[0.35, 0.2, 0.45])
    rules = Rules(cash=10_000, commission=0.001, stop_loss=0.02, take_profit=0.03, allow_short=True)
    closed, _ = assert_same(bars, signals, rules)
    assert set(closed["side"]) == {-1, 1}


def test_real_data_with_forecast_signals(sp500):
    bars = sp500[sp500["Date"] >= "2008-01-01"].reset_index(drop=True).iloc[:1500]
    close = bars["Close"].to_numpy()
    # A crude but causal forecast: yesterday's move continues.
    forecast = close * (close / np.concatenate([[close[0]], close[:-1]]))
    signals = forecast_signals(close, forecast)
    closed, ref = assert_same(bars, signals, Rules(cash=10_000, commission=0.001, stop_loss=0.03, take_profit=0.05))
    assert {"stop_loss", "take_profit", "signal"} <= set(closed["exit_reason"])
    ours = strategy_metrics(run_backtest(bars, np.r_[0, signals[1:]], Rules(10_000, 0.001, 0, 0.03, 0.05)), 10_000)
    # Metric formulas agree with backtesting.py's own where the definitions coincide.
    assert math.isclose(ours["total_return"] * 100, ref["Return [%]"], rel_tol=1e-6)
    assert math.isclose(ours["max_drawdown"] * 100, ref["Max. Drawdown [%]"], rel_tol=1e-6)
    assert math.isclose(ours["win_rate"] * len(closed), ref["Win Rate [%]"] / 100 * ref["# Trades"], abs_tol=1.01)


def _bars(rows):
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"])
    frame.insert(0, "Date", pd.bdate_range("2020-01-01", periods=len(rows)))
    return frame


FLAT = (100.0, 100.5, 99.5, 100.0)


@pytest.mark.parametrize(
    ("name", "rows", "signals", "reasons"),
    [
        ("stop gaps on a later bar", [FLAT, FLAT, FLAT, (93, 94, 92, 93), FLAT], [0, 1, 1, 1, 0], ["stop_loss"]),
        ("target gaps on a later bar", [FLAT, FLAT, FLAT, (106, 107, 105, 106), FLAT], [0, 1, 1, 1, 0],
         ["take_profit"]),
        ("both hit in one bar", [FLAT, FLAT, (100, 106, 96, 100), FLAT], [0, 1, 1, 0], ["stop_loss"]),
        ("stop hit on the entry bar", [FLAT, FLAT, (100, 100.5, 96, 97), FLAT], [0, 1, 1, 0], ["stop_loss"]),
        ("exit signal on a bar that also hits the stop", [FLAT, FLAT, FLAT, (100, 100, 90, 91), FLAT],
         [0, 1, 0, 0, 0], ["signal"]),
        ("stop, then re-entry while still long", [FLAT, FLAT, (100, 100, 96, 97), (97, 98, 96.5, 97.5), FLAT, FLAT],
         [0, 1, 1, 1, 0, 0], ["stop_loss", "signal"]),
    ],
)  # fmt: skip
def test_edge_cases(name, rows, signals, reasons):
    rules = Rules(cash=10_000, commission=0.001, stop_loss=0.03, take_profit=0.05)
    closed, _ = assert_same(_bars(rows), signals, rules)
    assert list(closed["exit_reason"]) == reasons, name
