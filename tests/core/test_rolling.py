"""A universe's replay, its pure parts: the segments it cuts, and what each segment decides (its scaler, its model,
its baselines' fits and its portfolio rules) reading nothing of its test step or later."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow.config import UniverseTrainParams
from stockflow.data import synthetic
from stockflow.universe import panel, portfolio, rolling


def test_segments_test_a_step_at_a_time_each_validated_on_the_step_before():
    dates = pd.bdate_range("2005-01-03", "2012-06-29").to_numpy()
    cut = rolling.segments(dates, "2009-01-01", 12)
    assert [s.label for s in cut] == ["2009-01-01..2009-12-31", "2010-01-01..2010-12-31", "2011-01-01..2011-12-31",
                                      "2012-01-01..2012-06-29"]  # fmt: skip
    assert cut[0].val_start == pd.Timestamp("2008-01-01") and cut[1].val_start == cut[0].test_start
    assert rolling.segments(dates, "2009-01-01", 6, end="2010-01-01")[-1].test_end == pd.Timestamp("2010-01-01")
    with pytest.raises(ValueError, match="no training data before"):
        rolling.segments(dates, "2006-01-01", 12)
    with pytest.raises(ValueError, match="before the last date"):
        rolling.segments(dates, "2013-01-01", 12)


def _decided(frames: dict, seg: rolling.Segment, params: UniverseTrainParams):
    p = panel.prepare(panel.align(frames), 10, "rank")
    data = rolling.segment_data(p, seg)
    model, scores = rolling.score_segment(data, params, 2000)
    grid = portfolio.candidates((2, 3), (1,), ("equal",), 0.001, 0.0005)
    rules = rolling.choose_rules(data, scores, grid, "information_ratio", 0.0)
    val = data.split_days["val"]
    return data, {k: v[val] for k, v in scores.items()}, rules, data.transform.scaler


def test_a_segment_decides_nothing_from_its_test_step_or_later():
    frames = synthetic.universe(8, 900, synthetic.PLANTED, seed=3, start="2001-01-01")
    dates = panel.align(frames).dates
    seg = rolling.segments(dates, "2003-01-01", 12)[0]
    params = UniverseTrainParams(architecture="lgbm", epochs=30, patience=5, seed=3)
    data, scores, rules, scaler = _decided(frames, seg, params)
    assert data.panel.dates[data.split_days["test"][-1]] < np.datetime64(seg.test_end)
    assert data.panel.dates[data.split_days["train"][-1]] < np.datetime64(seg.val_start)

    rng = np.random.default_rng(7)
    wild = {}
    for ticker, f in frames.items():  # every bar from the segment's first test day on: wild
        f = f.copy()
        later = f["Date"] >= seg.test_start
        f.loc[later, "Close"] = f.loc[later, "Close"].to_numpy() * rng.uniform(0.2, 5.0, int(later.sum()))
        wild[ticker] = f
    shaken, scores_again, rules_again, scaler_again = _decided(wild, seg, params)
    assert not np.allclose(shaken.panel.close, data.panel.close, equal_nan=True)
    assert rules_again == rules  # every scorer's rules, chosen on validation
    np.testing.assert_array_equal(scaler_again.mean, scaler.mean)
    for name, values in scores.items():  # the model, the ridge, the naive baselines: fitted before, unmoved
        np.testing.assert_array_equal(scores_again[name], values, err_msg=name)


def test_the_stitched_series_takes_each_segment_on_its_own_days_and_joins_their_portfolios():
    shape = (10, 3)
    a, b = np.full(shape, 1.0), np.full(shape, 2.0)
    out = rolling.stitch(shape, [(np.arange(2, 5), a), (np.arange(5, 8), b)])
    assert np.isnan(out[:2]).all() and (out[2:5] == 1).all() and (out[5:8] == 2).all() and np.isnan(out[8:]).all()
    index = pd.bdate_range("2020-01-01", periods=4)
    part = lambda days, r: portfolio.Traded((1 + pd.Series(r, index[days])).cumprod(), pd.Series(r, index[days]),  # noqa: E731
                                            pd.Series(0.1, index[days]), pd.Series(0.001, index[days]))  # fmt: skip
    joined = rolling.joined([part([0, 1], [0.1, 0.0]), part([2, 3], [0.0, -0.5])])
    assert list(joined.returns) == [0.1, 0.0, 0.0, -0.5] and joined.equity.iloc[-1] == pytest.approx(0.55)
