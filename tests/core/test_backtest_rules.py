"""Each execution rule of stockflow.trading.backtest, on bars small enough to check by hand.

Every rule holds for both engines: the event loop and the stop grid (many stop pairs at once).
"""

import numpy as np
import pandas as pd
import pytest

from stockflow.trading.backtest import Rules, forecast_signals, run_backtest
from stockflow.trading.stop_grid import backtest_stops


def bars(rows: list[tuple[float, float, float, float]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["Open", "High", "Low", "Close"])
    frame.insert(0, "Date", pd.bdate_range("2020-01-01", periods=len(rows)))
    return frame


FLAT = (100.0, 100.0, 100.0, 100.0)


def one_pair_of_the_grid(b, signals, rules):
    """The stop grid with the rules' own pair, and one pair it must not be confused with."""
    grid = backtest_stops(b, signals, rules, [(0.5, 0.5), (rules.stop_loss, rules.take_profit)])
    return grid.result(1)


@pytest.fixture(params=[run_backtest, one_pair_of_the_grid], ids=["event loop", "stop grid"])
def engine(request):
    return request.param


def test_signal_fills_at_the_next_open(engine):
    b = bars([FLAT, (110, 112, 109, 111), (111, 111, 111, 111)])
    r = engine(b, [1, 0, 0], Rules(cash=1000))
    trade = r.trades.iloc[0]
    assert trade["entry_date"] == b["Date"][1] and trade["entry_price"] == 110
    assert trade["exit_date"] == b["Date"][2] and trade["exit_price"] == 111
    assert r.equity.iloc[0] == 1000  # nothing happens on the decision bar itself


def test_stop_loss_is_live_on_the_entry_bar(engine):
    b = bars([FLAT, (100, 101, 94, 96), FLAT])
    r = engine(b, [1, 1, 0], Rules(cash=1000, stop_loss=0.05))
    t = r.trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["exit_date"] == b["Date"][1] and t["exit_price"] == 95


def test_take_profit_is_live_on_the_entry_bar(engine):
    b = bars([FLAT, (100, 111, 99, 105), FLAT])
    t = engine(b, [1, 1, 0], Rules(cash=1000, take_profit=0.10)).trades.iloc[0]
    assert t["exit_reason"] == "take_profit" and np.isclose(t["exit_price"], 110)


def test_a_gap_through_the_stop_fills_at_the_open(engine):
    b = bars([FLAT, FLAT, (90, 91, 88, 89)])
    t = engine(b, [1, 1, 1], Rules(cash=1000, stop_loss=0.05)).trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["exit_price"] == 90


def test_when_one_bar_hits_both_the_stop_wins(engine):
    b = bars([FLAT, (100, 120, 80, 100), FLAT])
    t = engine(b, [1, 1, 0], Rules(cash=1000, stop_loss=0.05, take_profit=0.05)).trades.iloc[0]
    assert t["exit_reason"] == "stop_loss" and t["exit_price"] == 95


def test_exit_signal_fills_at_the_open_before_intrabar_stops(engine):
    b = bars([FLAT, FLAT, (100, 100, 50, 60)])
    t = engine(b, [1, 0, 0], Rules(cash=1000, stop_loss=0.05)).trades.iloc[0]
    assert t["exit_reason"] == "signal" and t["exit_price"] == 100


def test_still_long_after_a_stop_reenters_at_the_next_open(engine):
    b = bars([FLAT, (100, 100, 90, 92), (93, 94, 92, 93), (93, 93, 93, 93)])
    r = engine(b, [1, 1, 1, 0], Rules(cash=1000, stop_loss=0.05))
    assert list(r.trades["exit_reason"]) == ["stop_loss", "end"]
    assert r.trades["entry_date"].iloc[1] == b["Date"][2] and r.trades["entry_price"].iloc[1] == 93


def test_commission_and_slippage_are_charged_on_each_fill(engine):
    b = bars([FLAT, FLAT, FLAT])
    r = engine(b, [1, 0, 0], Rules(cash=1000, commission=0.01, slippage=0.02))
    buy, sell = 100 * 1.02, 100 * 0.98
    units = 1000 / (buy * 1.01)
    expected = units * sell * (1 - 0.01)
    assert np.isclose(r.equity.iloc[-1], expected)
    assert np.isclose(r.costs, 1000 - expected)


def test_a_stop_loss_exit_pays_slippage_and_commission_by_hand(engine):
    # Bought at the open of bar 1 for 100 + 1% slippage = 101: the stop is 5% under the fill, 95.95. Bar 2 trades
    # down to 94: a market exit at the stop, 1% worse (94.9905), commission on both fills.
    b = bars([FLAT, (100, 101, 99, 100), (100, 100, 94, 95), (96, 97, 95, 96)])
    r = engine(b, [1, 1, 0, 0], Rules(cash=1000, commission=0.001, slippage=0.01, stop_loss=0.05))
    t = r.trades.iloc[0]
    units = 1000 / (101 * 1.001)
    assert t["exit_reason"] == "stop_loss" and t["exit_date"] == b["Date"][2]
    assert t["entry_price"] == pytest.approx(101) and t["exit_price"] == pytest.approx(94.9905)
    assert r.equity.iloc[-1] == pytest.approx(units * 94.9905 * (1 - 0.001), rel=1e-12)  # 938.62...
    assert r.costs == pytest.approx(units * 101 * 0.001 + units * 1 + units * 94.9905 * 0.001 + units * 0.9595)


def test_short_positions_profit_from_a_fall(engine):
    b = bars([FLAT, FLAT, (90, 90, 90, 90)])
    r = engine(b, [-1, 0, 0], Rules(cash=1000, allow_short=True))
    assert np.isclose(r.equity.iloc[-1], 1100)
    # and long/flat ignores short signals
    assert engine(b, [-1, 0, 0], Rules(cash=1000)).trades.empty


def test_whole_units_leave_the_rest_in_cash(engine):
    b = bars([FLAT, (300, 300, 300, 300), (330, 330, 330, 330)])
    r = engine(b, [1, 1, 1], Rules(cash=1000, whole_units=True))
    assert r.trades["units"].iloc[0] == 3
    assert np.isclose(r.equity.iloc[-1], 1000 + 3 * 30)


def test_an_open_position_is_valued_at_the_last_close(engine):
    b = bars([FLAT, (100, 105, 99, 104)])
    r = engine(b, [1, 1], Rules(cash=1000))
    assert np.isclose(r.equity.iloc[-1], 1040)
    assert r.trades["exit_reason"].iloc[-1] == "end"


@pytest.mark.parametrize("bad", [[1, 2, 0], [1, np.nan, 0]])
def test_signals_outside_minus_one_zero_one_are_rejected(bad, engine):
    with pytest.raises(ValueError, match="-1, 0 or 1"):
        engine(bars([FLAT] * 3), bad, Rules(cash=1000))


def test_forecast_signals_threshold_and_short():
    close = np.array([100.0, 100.0, 100.0])
    forecast = np.array([100.5, 99.0, 100.05])
    assert forecast_signals(close, forecast, threshold=0.001).tolist() == [1, 0, 0]
    assert forecast_signals(close, forecast, threshold=0.001, allow_short=True).tolist() == [1, -1, 0]
