"""A universe's pure parts: the panel (alignment, features, labels, the date split, the scaler, lazy windows), the
field's IC statistics, and the portfolio (TopkDropout, next-fill execution with costs, rules chosen on validation)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from stockflow.data import synthetic
from stockflow.universe import panel, portfolio, ranking


def frame(dates, closes, opens=None) -> pd.DataFrame:
    out = pd.DataFrame({"Date": pd.to_datetime(dates), "Close": closes})
    if opens is not None:
        out.insert(1, "Open", opens)
    return out


def test_tickers_are_aligned_on_their_dates_and_nothing_is_filled_forward():
    a = frame(["2020-01-01", "2020-01-02", "2020-01-03", "2020-01-06"], [10.0, 11.0, 12.0, 13.0])
    b = frame(["2020-01-01", "2020-01-03", "2020-01-06"], [20.0, 22.0, 24.2])  # absent on the 2nd
    p = panel.align({"a": a, "b": b})
    assert list(pd.DatetimeIndex(p.dates).day) == [1, 2, 3, 6] and p.close_only
    assert np.isnan(p.close[1, 1])  # no bar: no price, not yesterday's
    r = p.returns()
    assert np.isnan(r[1, 1]) and np.isnan(r[2, 1])  # no return into the gap, nor across it
    assert r[3, 1] == pytest.approx(np.log(24.2 / 22.0)) and r[2, 0] == pytest.approx(np.log(12 / 11))
    assert np.isnan(p.next_returns()[0, 1])  # a decision on the 1st about b needs b's bar on the 2nd
    feats = panel.features(p)
    assert np.isnan(feats[1, 1]).all() and feats[3, 1, panel.FEATURES.index("return_1")] == pytest.approx(r[3, 1])
    # The market is the day's mean over the tickers that have a return, the excess each one's difference from it.
    assert feats[3, 0, panel.FEATURES.index("market")] == pytest.approx(np.mean(r[3]))
    with pytest.raises(ValueError, match="at least two tickers"):
        panel.align({"a": a})


def test_labels_rank_what_a_decision_earns_from_its_fill_across_the_universe_each_day():
    dates = pd.bdate_range("2020-01-01", periods=4)
    closes = {"a": [10, 10, 11, 12.1], "b": [10, 10, 9, 9], "c": [10, 10, 10.5, 10.5]}
    p = panel.align({t: frame(dates, c) for t, c in closes.items()})
    ranked = panel.labels(p, "rank")
    # Day 0's decision fills at day 1's close (closes only) and is judged at day 2's: a +10%, b -10%, c +5%:
    # ranks 3, 1, 2 of 3 -> ((r - 0.5) / 3 - 0.5) * sqrt(12). Day 0's own close-to-close move (0 for all) is not it.
    expected = (np.array([3, 1, 2]) - 0.5) / 3 - 0.5
    assert ranked[0] == pytest.approx(expected * np.sqrt(12))
    assert np.isnan(ranked[-2:]).all()  # no fill two days later
    z = panel.labels(p, "zscore")[0]
    earned = p.outcome()[0]
    assert z == pytest.approx((earned - earned.mean()) / earned.std())
    # With opens, the fill is the next open; over a horizon of 2 days, from that open to the open 2 days later.
    opened = panel.align({t: frame(dates, c, opens=[c[0], c[0] * 1.01, c[1], c[2]]) for t, c in closes.items()})
    assert opened.outcome(2)[0] == pytest.approx(np.log(np.array([11, 9, 10.5]) / np.array([10.1, 10.1, 10.1])))
    assert np.isnan(opened.outcome(2)[1:]).all()


def test_a_gap_of_the_labels_length_is_left_between_the_splits():
    ok = np.ones((600, 3), dtype=bool)
    for horizon in (1, 5, 20):
        days = panel.split_dates(ok, 0.2, 0.1, horizon)
        assert days["train"][-1] + 1 + horizon <= days["val"][0]  # no training label reads a validation price
        assert days["val"][-1] + 1 + horizon <= days["test"][0]


def _universe(days=700, tickers=6, seed=0):
    return synthetic.universe(tickers, days, seed=seed)


def test_the_split_is_by_date_the_same_for_every_ticker_and_the_scaler_sees_training_dates_only():
    frames = _universe()
    data = panel.make_panel_data(panel.align(frames), 10, "rank", 0.2, 0.1)
    train, val, test = (data.split_days[s] for s in panel.SPLITS)
    assert train.max() < val.min() and val.max() < test.min()
    for split in panel.SPLITS:  # every sample of a split lies on that split's dates, whichever its ticker
        assert set(data.windows[split].date) <= set(data.split_days[split])
    # Later prices changed wildly: the scaler and the training windows are the same.
    cut = data.panel.dates[val.min()]
    wild = {t: f.assign(Close=np.where(f["Date"] >= cut, f["Close"] * np.exp(np.random.default_rng(1).normal(
        0, 0.2, len(f))), f["Close"])) for t, f in frames.items()}  # fmt: skip
    again = panel.make_panel_data(panel.align(wild), 10, "rank", 0.2, 0.1)
    assert np.array_equal(again.transform.scaler.mean, data.transform.scaler.mean)
    assert np.array_equal(again.windows["train"].take(slice(None)), data.windows["train"].take(slice(None)))
    early = {t: f.assign(Close=f["Close"] * np.where(f.index < 100, 2.0, 1.0)) for t, f in frames.items()}
    moved = panel.make_panel_data(panel.align(early), 10, "rank", 0.2, 0.1)
    assert not np.array_equal(moved.transform.scaler.std, data.transform.scaler.std)


def test_windows_are_gathered_when_asked_and_equal_the_rows_they_stand_for():
    data = panel.make_panel_data(panel.align(_universe(300, 4)), 7, "rank", 0.2, 0.1)
    w = data.windows["test"]
    which = np.array([0, 5, len(w) - 1])
    got = w.take(which)
    for k, i in enumerate(which):
        rows = w.scaled[w.date[i] - 6 : w.date[i] + 1, w.ticker[i]]
        assert np.array_equal(got[k], rows)
    assert got.shape == (3, 7, len(panel.FEATURES)) and got.dtype == np.float32


def test_ic_and_rank_ic_are_each_days_pearson_and_spearman_and_summarised_as_the_field_does():
    rng = np.random.default_rng(3)
    scores, outcome = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
    scores[5, :6] = np.nan  # a day with 2 names: left out
    ic = ranking.daily_ic(scores, outcome, np.arange(40), np.arange(40))
    assert len(ic) == 39 and 5 not in set(ic["date"])
    assert ic["ic"].iloc[0] == pytest.approx(stats.pearsonr(scores[0], outcome[0])[0])
    assert ic["rank_ic"].iloc[0] == pytest.approx(stats.spearmanr(scores[0], outcome[0])[0])
    card = ranking.summary(ic["rank_ic"])
    x = ic["rank_ic"].to_numpy()
    assert card["t_stat"] == pytest.approx(x.mean() / (x.std(ddof=1) / np.sqrt(len(x))))
    assert card["icir"] == pytest.approx(x.mean() / x.std(ddof=1)) and card["positive"] == pytest.approx((x > 0).mean())


def test_shuffled_labels_keep_each_days_values_and_lose_their_order():
    y = np.arange(30.0).reshape(5, 6)
    y[2, 3] = np.nan
    s = ranking.shuffled_within_days(y, seed=0)
    for t in range(5):
        assert sorted(s[t][~np.isnan(s[t])]) == sorted(y[t][~np.isnan(y[t])])
    assert np.isnan(s[2, 3]) and not np.array_equal(s, y)


def test_topk_dropout_replaces_at_most_n_names_a_day_as_qlib_does():
    score = np.array([0.9, 0.8, 0.1, 0.7, 0.6, 0.2])
    held = portfolio.topk_dropout(score, [], k=3, n=1)
    assert held == [0, 1, 3]  # the first day fills the book with the best three
    score2 = np.array([0.1, 0.8, 0.2, 0.7, 0.95, 0.9])  # 0 fell to the bottom; 4 and 5 are the new best
    held2 = portfolio.topk_dropout(score2, held, k=3, n=1)
    assert sorted(held2) == [1, 3, 4]  # one replaced (0 -> 4, the best new), not two
    score3 = score2.copy()
    score3[1] = np.nan  # a held name without a score today is sold first
    assert 1 not in portfolio.topk_dropout(score3, held2, k=3, n=1)


def test_a_close_only_portfolio_fills_at_the_next_close_and_pays_costs_on_each_change_of_weight_by_hand():
    dates = pd.bdate_range("2020-01-01", periods=4)
    p = panel.align({"a": frame(dates, [10.0, 11.0, 12.1, 12.1]), "b": frame(dates, [10.0, 10.0, 10.0, 5.0])})
    targets = np.full((4, 2), np.nan)
    targets[0] = [1.0, 0.0]  # decided at the close of day 0: all in a, filled at day 1's close
    targets[1] = [0.0, 1.0]  # decided at day 1's close: all in b, filled at day 2's close
    t = portfolio.simulate(p, targets, np.array([0, 1]), commission=0.01, slippage=0.0)
    # Day 1: nothing held during the day (the fill is at its close), buy a: pays 1% of the book.
    # Day 2: a +10% held all day, then a -> b (2 units of weight traded): pays 2%.
    assert list(t.returns.index) == list(dates[1:3])
    assert t.returns.iloc[0] == pytest.approx(-0.01) and t.returns.iloc[1] == pytest.approx(1.1 * 0.98 - 1)
    assert t.turnover.tolist() == [0.5, 1.0] and t.costs.iloc[1] == pytest.approx(0.02)


def test_with_opens_a_decision_fills_at_the_next_open():
    dates = pd.bdate_range("2020-01-01", periods=3)
    p = panel.align({"a": frame(dates, [10.0, 12.0, 12.0], opens=[10.0, 11.0, 12.0]),
                     "b": frame(dates, [10.0, 10.0, 10.0], opens=[10.0, 10.0, 10.0])})  # fmt: skip
    targets = np.full((3, 2), np.nan)
    targets[0] = [1.0, 0.0]
    t = portfolio.simulate(p, targets, np.array([0]), commission=0.0, slippage=0.0)
    assert t.returns.iloc[0] == pytest.approx(12 / 11 - 1)  # bought at day 1's open (11), not day 0's close (10)


def test_the_rules_are_chosen_on_the_validation_window_only():
    frames = _universe(900, 8, seed=4)
    p = panel.align(frames)
    scores = synthetic.oracle(frames)
    val, test = np.arange(300, 500), np.arange(500, 800)
    grid = portfolio.candidates((2, 4), (1, 2), ("equal", "inverse_volatility"), 0.001, 0.0005)
    rules, table = portfolio.choose(p, scores, val, grid, "information_ratio", portfolio.equal_weight(p, val, 0.001, 0))
    shaken = scores.copy()
    shaken[test] = np.random.default_rng(9).normal(size=shaken[test].shape)  # the test window's scores, wild
    again, table_again = portfolio.choose(p, shaken, val, grid, "information_ratio",
                                          portfolio.equal_weight(p, val, 0.001, 0))  # fmt: skip
    assert again == rules
    pd.testing.assert_frame_equal(table_again, table)
    earlier = scores.copy()
    earlier[val] = -earlier[val]
    moved = portfolio.choose(p, earlier, val, grid, "information_ratio", portfolio.equal_weight(p, val, 0.001, 0))[1]
    assert not moved.equals(table)


def _choice(frames, scores, val, min_ir=0.5):
    p = panel.align(frames)
    grid = portfolio.candidates((2, 4), (1, 2), ("equal",), 0.0005, 0.0)
    return portfolio.choose_on_validation(p, scores, val, grid, "information_ratio", min_ir)


def test_equal_weight_is_held_unless_a_rule_beats_it_on_validation_by_the_margin():
    frames = _universe(900, 8, seed=4)
    val = np.arange(300, 560)
    rules, table = _choice(frames, synthetic.oracle(frames), val)
    assert not rules.holds_universe and table["chosen"].sum() == 1  # a planted signal is traded
    noise = np.random.default_rng(3).normal(size=synthetic.oracle(frames).shape)
    held, table = _choice(frames, noise, val)
    assert held.holds_universe and held.label() == "equal weight, monthly"
    assert table.iloc[0]["information_ratio"] <= 0.5 and bool(table.iloc[-1]["chosen"])  # equal weight, last row
    # What it serves: every name with a bar, in equal weights, each day.
    p = panel.align(frames)
    w = portfolio.last_targets(p, noise, np.arange(600, 610), held)
    np.testing.assert_allclose(w[600:610], 1 / 8)
    # The margin is the setting's: with none, the best rule is traded whatever it did.
    assert not _choice(frames, noise, val, min_ir=-np.inf)[0].holds_universe


def test_the_choice_reads_no_score_or_price_of_the_test_window():
    frames = _universe(900, 8, seed=5)
    scores = synthetic.oracle(frames)
    val = np.arange(300, 560)
    rules, table = _choice(frames, scores, val, min_ir=-np.inf)
    rng = np.random.default_rng(11)
    wild = {t: f.copy() for t, f in frames.items()}
    for f in wild.values():  # every bar from the first test day on, and every score: wild
        f.loc[560:, "Close"] = f.loc[560:, "Close"].to_numpy() * rng.uniform(0.2, 5.0, len(f) - 560)
    shaken = scores.copy()
    shaken[560:] = rng.normal(size=shaken[560:].shape)
    again, table_again = _choice(wild, shaken, val, min_ir=-np.inf)
    assert again == rules
    pd.testing.assert_frame_equal(table_again, table)


def test_a_longer_horizon_can_be_held_as_long_decided_every_horizon_days():
    frames = _universe(400, 6, seed=6)
    p = panel.align(frames)
    scores = synthetic.oracle(frames)
    grid = portfolio.candidates((2,), (1,), ("equal",), 0.001, 0.0, horizon=5)
    assert [r.every for r in grid] == [1, 5] and grid[1].label() == "top 2, 1/day, equal, every 5 days"
    days = np.arange(100, 200)
    decided = portfolio.topk_targets(scores, p.returns(), days, grid[1])
    made = np.flatnonzero(~np.isnan(decided).all(axis=1))
    assert list(made) == list(days[::5])  # one decision every five days, none between
    served = portfolio.last_targets(p, scores, days, grid[1])
    np.testing.assert_array_equal(served[days[1:5]], np.repeat(served[days[:1]], 4, axis=0))  # held between
    daily, sparse = (portfolio.trade(p, scores, days, r) for r in grid)
    assert sparse.turnover.sum() < daily.turnover.sum()
    # universe.portfolio.every: a model of a one-day label may be held longer too, if validation says so
    assert [r.every for r in portfolio.candidates((2,), (1,), ("equal",), 0.001, 0.0, 1, (20, 5))] == [1, 5, 20]


def test_the_split_can_be_by_dates_as_qlibs_segments():
    frames = _universe(700, 4, seed=7)
    p = panel.align(frames)
    data = panel.make_panel_data(p, 10, "rank", 0.2, 0.1, starts=("2001-06-01", "2002-01-02"))
    first = {s: pd.Timestamp(p.dates[d[0]]) for s, d in data.split_days.items()}
    assert first["val"] == pd.Timestamp("2001-06-01") and first["test"] == pd.Timestamp("2002-01-02")
    assert data.split_days["train"][-1] + 2 <= data.split_days["val"][0]  # the gap is kept
    with pytest.raises(ValueError, match="give both"):
        from stockflow.config import UniversePreprocessParams

        UniversePreprocessParams(val_start="2001-06-01")
