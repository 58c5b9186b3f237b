"""The risk-sized strategy: the same fills as the signal engine where they coincide, and its weights."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow.trading.backtest import Rules, run_backtest
from stockflow.trading.sizing import risk_weights, run_weights


def bars(n: int = 300, seed: int = 2) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    opens = close * np.exp(rng.normal(0, 0.003, n))
    return pd.DataFrame({"Date": pd.bdate_range("2021-01-04", periods=n), "Open": opens,
                         "High": np.maximum(opens, close) * 1.004, "Low": np.minimum(opens, close) * 0.996,
                         "Close": close})  # fmt: skip


def test_all_or_nothing_weights_are_the_signal_engine_to_the_cent():
    b = bars()
    signals = (np.random.default_rng(4).random(len(b)) > 0.4).astype(int)
    rules = Rules(cash=10_000, commission=0.001, slippage=0.0005)
    expected = run_backtest(b, signals, rules)
    got, fills = run_weights(b, signals.astype(float), rules, band=0.1)
    np.testing.assert_allclose(got.equity.to_numpy(), expected.equity.to_numpy(), rtol=1e-12)
    assert got.costs == pytest.approx(expected.costs, rel=1e-12)
    assert fills == 2 * len(expected.trades) - (expected.trades["exit_reason"] == "end").sum()


def test_a_half_position_by_hand():
    b = pd.DataFrame(
        {
            "Date": pd.bdate_range("2021-01-04", periods=3),
            "Open": [100.0, 100.0, 110.0],
            "High": [100.0, 100.0, 110.0],
            "Low": [100.0, 100.0, 110.0],
            "Close": [100.0, 100.0, 120.0],
        }
    )
    got, fills = run_weights(b, np.array([0.5, 0.5, 0.5]), Rules(cash=1000, commission=0.01))
    # Day 1's open: buy 5 units (500 of 1000) for 505 with the fee; day 2's open: 495 + 5 x 110 = 1045, 0.5 is 522.5
    # of stock: 4.75 units, so 0.25 sold at 110 for 27.5 less 0.275 fee. Day 2's close: 522.225 + 4.75 x 120.
    assert fills == 2
    assert got.equity.iloc[1] == pytest.approx(495 + 5 * 100)
    assert got.equity.iloc[2] == pytest.approx(495 + 27.5 - 0.275 + 4.75 * 120)


def test_weights_cap_at_one_and_shrink_as_the_downside_widens():
    w = risk_weights(np.array([100.0, 100.0, 100.0, 100.0]), np.array([99.5, 98.0, 96.0, np.nan]), 0.01)
    np.testing.assert_allclose(w, [1.0, 0.5, 0.25, 0.0])
