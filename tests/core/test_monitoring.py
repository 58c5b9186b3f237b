"""The monitor's statistics against hand-checked and scipy values, its live days, and its false-alarm rate."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stockflow.champion import monitoring
from stockflow.config import MonitorParams

P = MonitorParams()


def test_cusum_by_hand():
    # S_t = max(0, S_{t-1} + z_t - k), k = 0.5: 0.5, max(0, 0.5 - 2.5) = 0, 2.5, 2.5 + 0 = 2.5, 2.5 + 1.5 = 4
    assert monitoring.cusum(np.array([1.0, -2.0, 3.0, 0.5, 2.0]), 0.5).tolist() == [0.5, 0.0, 2.5, 2.5, 4.0]
    paths = monitoring.cusum(np.array([[1.0, 1.0], [-1.0, 2.0]]), 0.5)
    assert paths.tolist() == [[0.5, 1.0], [0.0, 1.5]]  # each row on its own


def test_psi_known_values():
    reference = np.linspace(0, 1, 1000, endpoint=False)
    assert monitoring.psi(reference, reference) == pytest.approx(0.0, abs=1e-12)
    top = np.full(50, 0.99)  # every live value in the reference's top decile
    floor, share = 1e-4, 0.1
    expected = 9 * (floor - share) * np.log(floor / share) + (1 - share) * np.log(1 / share)
    assert monitoring.psi(reference, top) == pytest.approx(expected, rel=1e-9)


def test_drift_needs_an_effect_size_not_only_a_p_value():
    rng = np.random.default_rng(0)
    frame = lambda x: pd.DataFrame({"log_return": x, "volatility_20": x})  # noqa: E731
    reference = rng.normal(0, 1, 20_000)
    tiny_shift = rng.normal(0.06, 1, 20_000)  # "significant" with this many rows, and no real change
    found = monitoring.drift_test(frame(reference), frame(tiny_shift), P)["log_return"]
    ks = stats.ks_2samp(reference, tiny_shift)
    assert found["ks_stat"] == pytest.approx(ks.statistic) and found["ks_pvalue"] == pytest.approx(ks.pvalue)
    assert found["ks_pvalue"] < 0.01 and found["psi"] < 0.05 and not found["drifted"]
    wild = monitoring.drift_test(frame(reference), frame(rng.normal(0, 3, 63)), P)["log_return"]
    assert wild["psi"] > 0.25 and wild["ks_pvalue"] < 0.01 and wild["drifted"]
    few = monitoring.drift_test(frame(reference), frame(rng.normal(0, 3, 4)), P)["log_return"]
    assert not few["drifted"]  # four wild days: a large PSI, but KS cannot tell them from noise


def _prices(n: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    dates = pd.bdate_range("2020-01-01", periods=n)
    return pd.DataFrame({"Date": dates, "Open": close, "High": close * 1.01, "Low": close * 0.99, "Close": close,
                         "Volume": 1000})  # fmt: skip


def test_live_days_are_the_targets_after_the_last_training_bar():
    prices = _prices(60)
    forecasts = pd.DataFrame({"date": prices["Date"], "forecast": prices["Close"]})
    days = monitoring.day_frame(prices, forecasts)
    through = prices["Date"].iloc[49]
    live = monitoring.live_days(days, through)
    # The first live forecast is made at the close of the last training bar, about the bar after it.
    assert live["date"].iloc[0] == through and live["target_date"].iloc[0] == prices["Date"].iloc[50]
    assert len(live) == 10 and live["target_date"].iloc[-1] == prices["Date"].iloc[-1]
    assert (live["actual"].to_numpy() == prices["Close"].iloc[50:].to_numpy()).all()


def test_the_scale_of_a_day_uses_no_later_bar():
    prices = _prices(80)
    forecasts = pd.DataFrame({"date": prices["Date"], "forecast": prices["Close"]})
    before = monitoring.day_frame(prices, forecasts)
    changed = prices.copy()
    changed.loc[60:, "Close"] *= 3
    after = monitoring.day_frame(changed, forecasts)
    # Day 59's target is day 60's close (changed), but nothing it is scaled by comes from day 60 on.
    early = before["date"] < prices["Date"].iloc[60]
    assert early.sum() > 30 and (after.loc[early, "scale"] == before.loc[early, "scale"]).all()


def test_the_decay_test_keeps_its_false_alarm_rate_and_catches_a_real_decay():
    rng = np.random.default_rng(7)
    draw = lambda n, shift=0.0: shift - 0.02 + 0.3 * rng.standard_t(4, n)  # noqa: E731 - heavy tails, like d
    p = MonitorParams(bootstrap_samples=200)
    # Unconditional: a new test window and a new stable live year each time, as champions come and go.
    stable = np.mean([monitoring.decay_test(draw(p.horizon_days), monitoring.calibrate(draw(1000), p)).alarmed
                      for _ in range(150)])  # fmt: skip
    assert 0.01 <= stable <= 0.12  # set for 5% within the horizon
    cal = monitoring.calibrate(draw(1000), p)
    worse = np.mean([monitoring.decay_test(draw(p.horizon_days, 3 * p.decay_margin), cal).alarmed
                     for _ in range(100)])  # fmt: skip
    assert worse > 0.8


def test_verdict_and_cool_down():
    assert monitoring.verdict(5, True, True, 20) == "too few days"
    assert monitoring.verdict(30, True, True, 20) == "decayed"
    assert monitoring.verdict(30, False, True, 20) == "drifted"
    assert monitoring.verdict(30, False, False, 20) == "ok"
    assert monitoring.alarm_due("decayed", None, 63) and not monitoring.alarm_due("ok", None, 63)
    assert not monitoring.alarm_due("decayed", 10, 63) and monitoring.alarm_due("decayed", 63, 63)
    # Drift alarms once per champion; decay can alarm after a drift alarm, once the cool-down has passed.
    assert monitoring.alarm_due("drifted", None, 63) and not monitoring.alarm_due("drifted", 100, 63, True)
    assert monitoring.alarm_due("decayed", 100, 63, True)


def test_circular_blocks_are_arch_s_circular_block_bootstrap():
    from arch.bootstrap import CircularBlockBootstrap

    n, block = 50, 7
    ours = monitoring.circular_blocks(n, n, block, 2000, np.random.default_rng(3))
    # Each row: runs of `block` consecutive indices modulo n, as arch draws them ...
    steps = (np.diff(ours, axis=1) % n).reshape(-1)
    assert set(np.unique(steps)) <= set(range(n)) and np.mean(steps == 1) >= (block - 1) / block - 0.02
    # ... so that every index is drawn equally often, as with arch's draws of the same series.
    arch_draws = np.concatenate([s[0][0] for s in CircularBlockBootstrap(block, np.arange(n), seed=3).bootstrap(2000)])
    assert np.allclose(np.bincount(ours.ravel(), minlength=n) / ours.size, 1 / n, atol=0.004)
    assert np.allclose(np.bincount(arch_draws, minlength=n) / arch_draws.size, 1 / n, atol=0.004)
    assert ours.shape == (2000, n) and monitoring.circular_blocks(n, 12, block, 3, np.random.default_rng(0)).shape == (
        3, 12)  # fmt: skip


def test_an_interval_that_misses_too_often_has_stopped_covering_and_one_too_wide_has_not():
    rng = np.random.default_rng(7)
    actual = rng.normal(0, 1, 250)
    frame = lambda half: pd.DataFrame({"actual": actual, "lower": -half, "upper": half})  # noqa: E731
    right = monitoring.coverage_test(frame(1.645), 0.9, 0.01)
    assert 0.85 < right["live_coverage"] < 0.95 and not right["miscovered"]
    narrow = monitoring.coverage_test(frame(1.0), 0.9, 0.01)  # a 68% interval sold as 90%
    assert narrow["live_coverage"] < 0.75 and narrow["coverage_pvalue"] < 1e-6 and narrow["miscovered"]
    wide = monitoring.coverage_test(frame(4.0), 0.9, 0.01)  # misses too rarely: significant, but no alarm
    assert wide["live_coverage"] == 1.0 and wide["coverage_pvalue"] < 0.01 and not wide["miscovered"]
    assert monitoring.verdict(30, True, True, 20, miscovered=True) == "decayed"
    assert monitoring.verdict(30, False, True, 20, miscovered=True) == "miscovered"
    assert monitoring.alarm_due("miscovered", None, 63) and not monitoring.alarm_due("miscovered", 10, 63)


def _champion_check(sp500: pd.DataFrame, train: tuple[str, str], test: tuple[str, str], through: str, end: str):
    """The check of a champion that forecasts persistence (as the default one nearly does), on the real S&P 500."""
    prices = sp500[sp500["Date"] <= end].reset_index(drop=True)
    days = monitoring.day_frame(prices, pd.DataFrame({"date": prices["Date"], "forecast": prices["Close"]}))
    windows = {"train": tuple(map(pd.Timestamp, train)), "test": tuple(map(pd.Timestamp, test))}
    result, _ = monitoring.check(days, monitoring.model_inputs(prices), windows, pd.Timestamp(through), P)
    return result.figures, monitoring.due(result.decided_by, True, False, None, P.cooldown_days)


def test_a_calmer_market_is_reported_and_a_wilder_one_alarms(sp500):
    """Drift alone alarms only against the champion: trained through 2012, the calm of 2013 to mid-2014 is reported
    (its volatility drifted, downward) with no alarm; trained on 2003-2006, the autumn of 2008 alarms."""
    calm, calm_alarm = _champion_check(sp500, ("2005-01-03", "2011-06-30"), ("2011-07-01", "2012-12-31"),
                                       "2012-12-31", "2014-06-30")  # fmt: skip
    assert calm["verdict"] == "drifted" and calm["drift_inputs"]["volatility_20"]["drifted"]
    assert not calm["drift_inputs"]["volatility_20"]["wilder"] and not calm["drift_adverse"] and not calm_alarm
    crisis, crisis_alarm = _champion_check(sp500, ("2003-01-02", "2006-06-30"), ("2006-07-03", "2007-06-29"),
                                           "2007-06-29", "2008-12-31")  # fmt: skip
    assert crisis["verdict"] == "drifted" and crisis["drift_adverse"] and crisis_alarm
    assert crisis["drift_inputs"]["volatility_20"]["wilder"] and crisis["drift_inputs"]["log_return"]["wilder"]
    # The rule itself: drift that goes toward a calmer market never alarms; toward a wilder one, once per champion.
    assert not monitoring.alarm_due("drifted", None, 63, drift_adverse=False)
    assert monitoring.alarm_due("drifted", None, 63, drift_adverse=True)


def test_a_replayed_champion_is_calibrated_on_its_test_window_never_on_the_days_after_it(sp500):
    """policies.reign calibrates the decay test as `stockflow monitor` does: shake every day after `as_of` wildly and
    the calibration does not move (it would, were the live days in it)."""
    from stockflow.champion import policies
    from stockflow.champion.replay import fit_at
    from stockflow.config import parse_params

    prices = sp500[(sp500["Date"] >= "2010-01-01") & (sp500["Date"] < "2014-01-01")].reset_index(drop=True)
    as_of = pd.Timestamp("2012-12-31")
    params = parse_params({}, ["train.architecture=gbm", "train.epochs=20", "preprocess.lookback=5",
                               "train.shrink=false", "monitor.bootstrap_samples=100"])  # fmt: skip
    fitted = fit_at(prices[prices["Date"] <= as_of].reset_index(drop=True), params)
    before = policies.reign(fitted, prices, as_of, params)
    wild = prices.copy()
    later = wild["Date"] > as_of
    factor = np.random.default_rng(4).uniform(0.5, 2.0, int(later.sum()))
    for col in ("Open", "High", "Low", "Close", "Adj Close"):
        wild.loc[later, col] = wild.loc[later, col] * factor
    after = policies.reign(fitted, wild, as_of, params)
    assert after.calibration == before.calibration and before.calibration.std > 1e-6  # a model, not persistence
    assert not after.live["forecast"].equals(before.live["forecast"])  # the live days did change
