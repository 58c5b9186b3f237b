"""Alpha158 over a whole panel: the published 158 factors, causal, masked bars kept missing, each operator as its
definition says (checked here against plain pandas and numpy; against Qlib itself in `make bench`)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow.universe import factors, panel
from tests.core.test_bars import market


def _ohlcv(frames):
    p = panel.align(frames)
    return p, (p.open, p.high, p.low, p.close, p.volume)


def _frame(values: np.ndarray, name: str) -> pd.DataFrame:
    return pd.DataFrame(values[..., factors.ALPHA158.index(name)])


def test_the_published_set_has_158_factors_in_qlibs_groups():
    assert len(factors.ALPHA158) == 158 == len(set(factors.ALPHA158))
    assert factors.ALPHA158[:13] == (*factors.KBAR, *factors.PRICE) and len(factors.ROLLING) == 29


def test_each_operator_is_its_definition():
    p, bars = _ohlcv(market(3, days=200, seed=1))
    f = factors.alpha158(*bars)
    o, h, lo, c, v = (pd.DataFrame(a) for a in bars)
    d = 10
    expected = {
        "KMID": (c - o) / o,
        "KSFT2": (2 * c - h - lo) / (h - lo + 1e-12),
        "VWAP0": (h + lo + c) / 3 / c,
        f"ROC{d}": c.shift(d) / c,
        f"MA{d}": c.rolling(d).mean() / c,
        f"STD{d}": c.rolling(d).std() / c,
        f"MAX{d}": h.rolling(d).max() / c,
        f"QTLU{d}": c.rolling(d).quantile(0.8) / c,
        f"RANK{d}": c.rolling(d).rank(pct=True),
        f"RSV{d}": (c - lo.rolling(d).min()) / (h.rolling(d).max() - lo.rolling(d).min() + 1e-12),
        f"IMAX{d}": h.rolling(d).apply(lambda x: x.argmax() + 1, raw=True) / d,
        f"IMIN{d}": lo.rolling(d).apply(lambda x: x.argmin() + 1, raw=True) / d,
        f"CORR{d}": c.rolling(d).corr(np.log(v + 1)),
        f"CNTP{d}": (c > c.shift(1)).astype(float).where(c.shift(1).notna()).rolling(d).mean(),
        f"SUMP{d}": (c - c.shift(1)).clip(lower=0).rolling(d).sum() / ((c - c.shift(1)).abs().rolling(d).sum() + 1e-12),
        f"VMA{d}": v.rolling(d).mean() / (v + 1e-12),
        f"VSUMD{d}": ((v - v.shift(1)).clip(lower=0).rolling(d).sum() - (v.shift(1) - v).clip(lower=0).rolling(d).sum())
        / ((v - v.shift(1)).abs().rolling(d).sum() + 1e-12),
    }  # fmt: skip
    for name, want in expected.items():
        np.testing.assert_allclose(_frame(f, name), want.astype(np.float32), rtol=2e-5, atol=1e-6, err_msg=name)
    # The regression operators: numpy's least squares on one window.
    x = np.arange(1, d + 1)
    for t, j in ((50, 0), (150, 2)):
        y = p.close[t - d + 1 : t + 1, j]
        slope, intercept = np.polyfit(x, y, 1)
        fitted = intercept + slope * x
        r2 = 1 - ((y - fitted) ** 2).sum() / ((y - y.mean()) ** 2).sum()
        got = f[t, j, [factors.ALPHA158.index(n) for n in (f"BETA{d}", f"RSQR{d}", f"RESI{d}")]]
        np.testing.assert_allclose(got, [slope / y[-1], r2, (y[-1] - fitted[-1]) / y[-1]], rtol=1e-4, atol=1e-7)


def test_no_factor_of_a_day_moves_when_every_later_bar_changes_wildly():
    frames = market(4, days=260, seed=2)
    _, bars = _ohlcv(frames)
    before = factors.alpha158(*bars)
    rng = np.random.default_rng(5)
    wild = {t: f.copy() for t, f in frames.items()}
    for f in wild.values():
        later = f.index >= 180
        f.loc[later, ["Open", "High", "Low", "Close"]] *= rng.uniform(0.1, 10, (int(later.sum()), 1))
        f.loc[later, "Volume"] *= rng.uniform(0, 100, int(later.sum()))
    after = factors.alpha158(*_ohlcv(wild)[1])
    np.testing.assert_array_equal(before[:180], after[:180])
    assert not np.allclose(np.nan_to_num(before[180:]), np.nan_to_num(after[180:]))


def test_a_masked_bar_stays_missing_in_every_window_that_holds_it():
    frames = market(3, days=200, seed=3)
    frames["t1"].loc[120, ["Open", "High", "Low", "Close"]] = np.nan  # as stockflow.data.bars.mask leaves a bad bar
    f = factors.alpha158(*_ohlcv(frames)[1])
    for name, d in (("KMID", 1), ("MA5", 5), ("MA60", 60), ("STD20", 20), ("RSQR30", 30), ("IMAX10", 10),
                    ("CORR20", 20), ("RANK60", 60)):  # fmt: skip
        column = f[:, 1, factors.ALPHA158.index(name)]
        assert np.isnan(column[120 : 120 + d]).all(), name
        assert not np.isnan(column[120 + d + 1]), name  # and known again once the window has passed it
        assert not np.isnan(f[120 : 120 + d, 0, factors.ALPHA158.index(name)]).any()  # another ticker is untouched


def test_a_universe_trains_on_alpha158_with_a_robust_scaler_fitted_on_training_dates():
    frames = market(6, days=500, seed=4)
    data = panel.make_panel_data(panel.align(frames), 1, "rank", 0.2, 0.1, "alpha158")
    assert data.windows["train"].scaled.shape[-1] == 158 and data.transform.scaler.clip == 3.0
    assert np.abs(data.windows["train"].take(slice(None))).max() <= 3.0
    assert data.split_days["train"][0] >= 59  # the first sample has 60 days of closes behind it
    with pytest.raises(ValueError, match="closes only"):
        closes = {t: f[["Date", "Close"]] for t, f in frames.items()}
        panel.make_panel_data(panel.align(closes), 1, "rank", 0.2, 0.1, "alpha158")


def test_raw_windows_are_qlibs_alpha360_every_price_over_the_last_close_and_nothing_later_read():
    frames = market(4, days=200, seed=3)
    p = panel.align(frames)
    data = panel.make_panel_data(p, 60, "rank", 0.2, 0.2, "raw")
    w = data.windows["test"]
    window, t, j = w.take(slice(0, 1))[0], w.date[0], w.ticker[0]
    days = slice(t - 59, t + 1)
    vwap = (p.high + p.low + p.close) / 3
    for k, prices in enumerate((p.open, p.high, p.low, p.close, vwap)):  # Ref($x, 59 - i) / $close, in logs
        np.testing.assert_allclose(window[:, k], np.log(prices[days, j] / p.close[t, j]), atol=2e-6)
    np.testing.assert_allclose(window[:, 5], np.log((p.volume[days, j] + 1) / (p.volume[t, j] + 1)), atol=2e-6)
    assert window.shape == (60, 6) and window[-1, 3] == 0.0
    wild = {k: f.copy() for k, f in frames.items()}  # every bar after the window's day, wild: the window is the same
    for f in wild.values():
        later = f["Date"] > pd.Timestamp(p.dates[t])
        f.loc[later, ["Open", "High", "Low", "Close"]] *= np.random.default_rng(1).uniform(
            0.1, 10, (int(later.sum()), 1)
        )
    again = panel.make_panel_data(panel.align(wild), 60, "rank", 0.2, 0.2, "raw").windows["test"]
    np.testing.assert_array_equal(again.take(slice(0, 1))[0], window)
    # Served from a ranker's file, the windows are made relative as in training.
    from stockflow import models
    from stockflow.config import UniverseTrainParams
    from stockflow.universe import ranker

    family = models.family("linear")
    model, _ = family.fit_windows(data.windows["train"], data.labels_of("train"), data.windows["val"],
                                  data.labels_of("val"), UniverseTrainParams(architecture="linear"))  # fmt: skip
    served = ranker.load(ranker.dump(ranker.Ranker("linear", model, data.transform, p.tickers)))
    np.testing.assert_allclose(served.scores(p)[w.date, w.ticker], family.predict(model, w.take(slice(None))),
                               rtol=1e-6)  # fmt: skip
