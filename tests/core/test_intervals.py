"""The interval's statistics against hand-checked and library values; coverage that holds where it should."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stockflow.ticker import intervals
from stockflow.ticker.intervals import Interval, Volatility


def garch_prices(n: int, seed: int = 0, omega=2e-6, alpha=0.09, beta=0.9) -> pd.DataFrame:
    """Bars from a GARCH(1,1) with Student-t shocks: volatility that clusters, tails fatter than Gaussian."""
    rng = np.random.default_rng(seed)
    var, r = omega / (1 - alpha - beta), np.zeros(n)
    for t in range(1, n):
        r[t] = math.sqrt(var) * rng.standard_t(5) / math.sqrt(5 / 3)
        var = omega + alpha * r[t] ** 2 + beta * var
    close = 100 * np.exp(np.cumsum(r))
    opens = np.concatenate([[100.0], close[:-1]]) * np.exp(rng.normal(0, 0.001, n))
    spread = np.abs(r) + 0.002
    return pd.DataFrame({"Date": pd.bdate_range("2000-01-03", periods=n), "Open": opens,
                         "High": np.maximum(opens, close) * (1 + spread / 2),
                         "Low": np.minimum(opens, close) * (1 - spread / 2), "Close": close, "Volume": 1})  # fmt: skip


def test_conformal_quantile_is_the_finite_sample_rank():
    scores = np.arange(1.0, 10.0)  # 9 scores: ceil(10 * 0.9) = 9th smallest
    assert intervals.conformal_quantile(scores, 0.9) == 9.0
    assert intervals.conformal_quantile(scores, 0.5) == 5.0  # ceil(10 * 0.5) = 5
    assert intervals.conformal_quantile(np.array([3.0, np.nan, 1.0]), 0.5) == 3.0  # NaN ignored, ceil(4 * .5) = 2
    with pytest.raises(ValueError, match="no validation days"):
        intervals.conformal_quantile(np.array([]), 0.9)


@pytest.mark.parametrize(("n", "level", "rank"), [(10, 0.75, 9), (10, 0.9, 10), (7, 0.8, 7), (19, 0.5, 10),
                                                   (40, 0.9, 37)])  # fmt: skip
def test_the_conformal_rank_is_rounded_up_where_n_plus_one_times_level_is_not_whole(n, level, rank):
    # (n + 1) * level = 8.25, 9.9, 6.4, 10, 36.9: the ceil-th smallest (never the floor, never the rounded), capped
    # at n; the scores are shuffled so that the rank, not the order given, decides.
    scores = np.random.default_rng(n).permutation(np.arange(1.0, n + 1))
    assert intervals.conformal_quantile(scores, level) == float(rank)


def test_the_scale_is_the_geometric_mean_of_the_har_and_garch_forecasts_by_hand():
    prices = garch_prices(40, seed=2)
    har, (mu, omega, alpha, beta) = (1e-4, 0.2, 0.4, 0.3), (1e-4, 2e-6, 0.09, 0.9)
    vol = Volatility(har, (mu, omega, alpha, beta), 1e-6)
    o, h, lo, c = (prices[k].to_numpy() for k in ("Open", "High", "Low", "Close"))
    prev = np.concatenate([[c[0]], c[:-1]])
    r = np.log(c / prev)
    variance = []
    for t in range(len(c)):
        # Garman-Klass with the overnight gap (none on the first bar: no close before it)
        gap = 0.0 if t == 0 else np.log(o[t] / prev[t])
        variance.append(max(gap**2 + 0.5 * np.log(h[t] / lo[t]) ** 2 - (2 * np.log(2) - 1) * np.log(c[t] / o[t]) ** 2,
                            0.0))  # fmt: skip
    scale = []
    for t in range(len(c)):
        daily, weekly, monthly = (np.sqrt(np.mean(variance[max(0, t - d + 1) : t + 1])) for d in intervals.HAR_DAYS)
        scale.append(har[0] + har[1] * daily + har[2] * weekly + har[3] * monthly)
    garch = vol.garch_forecasts(prices)[1]
    expected_garch = []
    g = omega / (1 - alpha - beta)  # GARCH(1,1) from its unconditional variance
    for t in range(len(c)):
        g = omega + alpha * (0.0 if t == 0 else (r[t] - mu) ** 2) + beta * g
        expected_garch.append(np.sqrt(g))
    np.testing.assert_allclose(garch, expected_garch, rtol=1e-12)
    np.testing.assert_allclose(vol.scale(prices), np.sqrt(np.maximum(scale, 1e-6) * np.asarray(expected_garch)),
                               rtol=1e-12)  # fmt: skip


def test_winkler_score_by_hand():
    # widths 2, 2, 2; the second misses below by 1, the third above by 0.5; alpha = 0.2 -> penalty 2 / 0.2 = 10
    got = intervals.interval_scores([1.0, -2.0, 2.5], [-1.0, -1.0, 0.0], [1.0, 1.0, 2.0], [1.0, 1.0, 1.0], 0.8)
    assert got["coverage"] == pytest.approx(1 / 3)
    assert got["width"] == 2.0 and got["width_pct"] == 200.0
    assert got["winkler"] == pytest.approx((2 + (2 + 10) + (2 + 5)) / 3)


def test_kupiec_matches_the_likelihood_ratio_and_chi_squared():
    n, x, level = 250, 40, 0.9
    p, phat = 0.1, x / n
    lr = -2 * ((n - x) * math.log(1 - p) + x * math.log(p) - (n - x) * math.log(1 - phat) - x * math.log(phat))
    stat, pvalue = intervals.kupiec(x, n, level)
    assert stat == pytest.approx(lr) and pvalue == pytest.approx(stats.chi2.sf(lr, 1))
    assert intervals.kupiec(25, 250, 0.9)[1] == pytest.approx(1.0)  # exactly the expected misses
    assert intervals.kupiec(0, 100, 0.9)[1] < 0.01  # never missing is suspicious too (too wide)


def test_the_gaussian_baseline_is_the_trailing_standard_deviation():
    prices = garch_prices(100)
    rows = np.array([50, 99])
    lower, upper = intervals.gaussian_bounds(prices, rows, 0.9)
    r = np.diff(np.log(prices["Close"].to_numpy()))
    sigma = np.std(r[30:50], ddof=1)  # the 20 returns ending on row 50: rows 31..50
    close = prices["Close"].iloc[50]
    assert lower[0] == pytest.approx(close * math.exp(-1.6448536 * sigma), rel=1e-6)
    assert upper[0] == pytest.approx(close * math.exp(1.6448536 * sigma), rel=1e-6)


def test_garch_forecasts_equal_arch_with_the_same_parameters():
    from arch import arch_model

    prices = garch_prices(1500, seed=3)
    train = np.arange(0, 1000)
    vol = intervals.fit_volatility(prices, train)
    r = intervals.log_returns(prices)
    model = arch_model(100 * r[1:], mean="Constant", vol="GARCH", p=1, q=1, rescale=False)
    mu, omega, alpha, beta = vol.garch
    fixed = model.fix([100 * mu, 1e4 * omega, alpha, beta])
    expected = np.sqrt(fixed.forecast(horizon=1, start=0, reindex=False).variance.to_numpy()[:, 0]) / 100
    ours = vol.garch_forecasts(prices)[1][1:]  # row t: the forecast for t + 1
    # arch starts its recursion from a backcast, ours from the unconditional variance: equal once that fades
    np.testing.assert_allclose(ours[300:], expected[300:], rtol=1e-6)
    assert 0 < alpha < 1 and 0 < beta < 1


def test_the_scale_uses_nothing_after_its_day():
    prices = garch_prices(400, seed=5)
    vol = Volatility((1e-4, 0.2, 0.4, 0.3), (0.0, 2e-6, 0.09, 0.9), 1e-4)
    full = vol.scale(prices)
    changed = prices.copy()
    changed.loc[300:, ["Open", "High", "Low", "Close"]] *= 1.5  # every bar after day 299 different
    np.testing.assert_array_equal(vol.scale(changed)[:300], full[:300])


def test_calibrated_on_validation_it_covers_the_test_days_at_its_level():
    prices = garch_prices(6000, seed=11)
    rows = np.arange(30, len(prices) - 1)
    train, val, test = rows[:3000], rows[3000:4000], rows[4000:]
    vol = intervals.fit_volatility(prices, train)
    close = prices["Close"].to_numpy()
    scale = vol.scale(prices)
    interval = intervals.calibrate(vol, scale[val], close[val + 1], close[val], 0.9)  # persistence as the centre
    lower, upper = interval.bounds(close[test], scale[test])
    model = intervals.interval_scores(close[test + 1], lower, upper, close[test], 0.9)
    assert 0.88 <= model["coverage"] <= 0.92
    gaussian = intervals.interval_scores(close[test + 1], *intervals.gaussian_bounds(prices, test, 0.9), close[test],
                                         0.9)  # fmt: skip
    assert model["winkler"] < gaussian["winkler"]  # volatility that clusters is forecast, not averaged
    assert Interval.from_dict(interval.to_dict()) == interval
