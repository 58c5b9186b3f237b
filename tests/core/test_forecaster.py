"""The shrink factor: chosen on the validation window, never worse than persistence there; headline without it."""

from __future__ import annotations

import numpy as np

from stockflow.reporting.headline import headline
from stockflow.ticker.forecaster import SHRINK_GRID, shrink_factor


def test_shrink_picks_the_factor_with_the_lowest_validation_error():
    rng = np.random.default_rng(0)
    close = 100 + np.cumsum(rng.normal(0, 1, 500))
    actual = close + rng.normal(0, 1, 500)
    useless = close + rng.normal(0, 2, 500)  # noise: persistence is best
    assert shrink_factor(useless, close, actual) == 0.0
    truth = close + 0.5 * (actual - close)  # half the move, right in sign: k = 1 is best on this grid
    assert shrink_factor(close + (actual - close), close, actual) == 1.0
    k = shrink_factor(truth, close, actual)
    assert k == SHRINK_GRID.max()
    for k in SHRINK_GRID:  # the chosen factor is never beaten on the window it was chosen on
        chosen = shrink_factor(useless, close, actual)
        assert np.mean(np.abs(close + chosen * (useless - close) - actual)) <= np.mean(
            np.abs(close + k * (useless - close) - actual)
        )


def test_headline_has_no_p_value_when_the_forecasts_are_persistences():
    evaluate = {"mae_ratio": 1.0, "dm_pvalue": None}
    strategy = {"sharpe": 0.0, "total_return": 0.0, "max_drawdown": 0.0}
    hold = {"sharpe": 0.4, "total_return": 0.2, "max_drawdown": -0.1}
    figures = headline(evaluate, {"strategy": strategy, "buy_and_hold": hold}, {"promote": True})
    assert figures["dm_p"] is None and figures["mae_pct"] == 100.0 and figures["bh_return_pct"] == 20.0
    assert figures["promoted"] == 1.0
