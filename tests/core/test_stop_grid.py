"""The stop grid trades every pair exactly as the event loop trades it alone."""

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from stockflow.trading.backtest import Rules, run_backtest
from stockflow.trading.performance import strategy_metrics
from stockflow.trading.stop_grid import backtest_stops

STOPS = [(sl, tp) for sl in (None, 0.01, 0.02, 0.05) for tp in (None, 0.01, 0.03, 0.08)]


def rough_bars(n: int, seed: int) -> pd.DataFrame:
    """Daily bars with wide ranges and overnight gaps, so every exit rule (gaps through levels too) occurs."""
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.02, n)))
    gap = np.where(rng.random(n) < 0.1, rng.normal(0, 0.05, n), rng.normal(0, 0.003, n))
    open_ = np.r_[100, close[:-1]] * np.exp(gap)
    return pd.DataFrame(
        {
            "Date": pd.bdate_range("2010-01-04", periods=n),
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + rng.exponential(0.01, n)),
            "Low": np.minimum(open_, close) * (1 - rng.exponential(0.01, n)),
            "Close": close,
        }
    )


def assert_same_backtest(grid_result, alone):
    a, b = grid_result.trades, alone.trades
    assert len(a) == len(b)
    assert a["exit_reason"].tolist() == b["exit_reason"].tolist()
    assert a["side"].tolist() == b["side"].tolist()
    assert (a["entry_date"].to_numpy() == b["entry_date"].to_numpy()).all()
    assert (a["exit_date"].to_numpy() == b["exit_date"].to_numpy()).all()
    for column in ("entry_price", "exit_price", "units", "pnl", "return"):
        np.testing.assert_allclose(
            a[column].astype(float), b[column].astype(float), rtol=1e-9, atol=1e-9, err_msg=column
        )
    np.testing.assert_allclose(grid_result.equity, alone.equity, rtol=1e-9)
    np.testing.assert_allclose(grid_result.position, alone.position, rtol=1e-9, atol=1e-12)
    assert np.isclose(grid_result.costs, alone.costs, rtol=1e-9)


@pytest.mark.parametrize(
    ("seed", "short", "commission", "slippage"),
    [(0, False, 0.0, 0.0), (1, False, 0.001, 0.0005), (2, True, 0.001, 0.0005), (3, True, 0.0, 0.002)],
)
def test_every_pair_equals_its_backtest_alone(seed, short, commission, slippage):
    bars = rough_bars(600, seed)
    rng = np.random.default_rng(seed + 100)
    # Runs of signals of every length, so stops re-enter, signals reverse and positions reach the end.
    signals = np.repeat(rng.choice([-1, 0, 1], 300, p=[0.3, 0.2, 0.5]), rng.integers(1, 10, 300))[:600]
    signals[-10:] = 1 if not short else -1
    rules = Rules(cash=10_000, commission=commission, slippage=slippage, allow_short=short)
    grid = backtest_stops(bars, signals, rules, STOPS)
    metrics = grid.metrics(10_000, risk_free_rate=0.01)
    reasons = set()
    for k, (sl, tp) in enumerate(STOPS):
        alone = run_backtest(bars, signals, replace(rules, stop_loss=sl, take_profit=tp))
        assert_same_backtest(grid.result(k), alone)
        expected = strategy_metrics(alone, 10_000, risk_free_rate=0.01)
        assert metrics[k] == pytest.approx(expected, rel=1e-9, abs=1e-12)
        reasons |= set(alone.trades["exit_reason"])
    assert reasons == {"signal", "stop_loss", "take_profit", "end"}


def test_a_short_that_loses_all_its_cash_is_traded_by_the_event_loop():
    # The price climbs 15% a day under a short: without a stop its cash goes below zero and no trade can follow.
    bars = rough_bars(40, 5)
    bars[["Open", "High", "Low", "Close"]] *= (1.15 ** np.clip(np.arange(40) - 9, 0, 7))[:, None]
    signals = np.r_[[-1] * 15, [0] * 5, [1] * 20]
    rules = Rules(cash=1_000, allow_short=True)
    grid = backtest_stops(bars, signals, rules, [(None, None), (0.05, None)])
    for k, (sl, tp) in enumerate([(None, None), (0.05, None)]):
        assert_same_backtest(grid.result(k), run_backtest(bars, signals, replace(rules, stop_loss=sl, take_profit=tp)))
    assert grid.result(0).equity.iloc[-1] < 0 < grid.result(1).equity.iloc[-1]


def test_whole_units_and_no_trades_give_the_event_loops_results():
    bars = rough_bars(200, 6)
    signals = np.repeat([1, 0, 1, 1, 0], 40)
    for rules, sig in [(Rules(cash=1_000, whole_units=True), signals), (Rules(cash=1_000), np.zeros(200))]:
        grid = backtest_stops(bars, sig, rules, STOPS)
        for k, (sl, tp) in enumerate(STOPS):
            assert_same_backtest(grid.result(k), run_backtest(bars, sig, replace(rules, stop_loss=sl, take_profit=tp)))
