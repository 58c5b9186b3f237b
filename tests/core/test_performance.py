import numpy as np
import pandas as pd

from stockflow.trading.performance import equity_metrics, longest_drawdown


def test_sharpe_sortino_and_drawdown_match_a_reference_computation():
    rng = np.random.default_rng(1)
    r = rng.normal(0.0005, 0.01, 504)
    equity = pd.Series(1000 * np.cumprod(1 + r))
    m = equity_metrics(equity, 1000, risk_free_rate=0.02)
    excess = r - 0.02 / 252
    assert np.isclose(m["sharpe"], excess.mean() / r.std(ddof=1) * np.sqrt(252))
    assert np.isclose(m["sortino"], excess.mean() / np.sqrt(np.mean(np.minimum(excess, 0) ** 2)) * np.sqrt(252))
    values = np.concatenate([[1000], equity])
    assert np.isclose(m["max_drawdown"], (values / np.maximum.accumulate(values) - 1).min())
    assert np.isclose(m["cagr"], (equity.iloc[-1] / 1000) ** (252 / 504) - 1)
    assert np.isclose(m["calmar"], m["cagr"] / abs(m["max_drawdown"]))


def test_drawdown_length_counts_bars_below_the_peak():
    equity = pd.Series([110.0, 100.0, 105.0, 111.0, 90.0])
    assert longest_drawdown(equity, 100.0) == 2
