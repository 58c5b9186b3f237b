"""Walk-forward refits, seed spread, and the two promises behind them: re-runs repeat, the future never leaks."""

from __future__ import annotations

import numpy as np
import pytest

from stockflow.config import PreprocessParams, TrainParams
from stockflow.ticker.dataset import make_dataset
from stockflow.ticker.robustness import fold_slices, seed_report, train_and_forecast, walk_forward, walk_forward_report

pytestmark = pytest.mark.slow  # trains (tiny) networks

PRE = PreprocessParams(lookback=10, features=("log_return", "volatility_20"))
TRAIN = TrainParams(epochs=2, units=4, patience=0)


def test_folds_cover_the_test_samples_in_order():
    expanding = fold_slices(1000, 0.2, 3, "expanding")
    assert [n for _, n in expanding] == [67, 67, 66]
    assert [s.stop for s, _ in expanding] == [867, 934, 1000]
    assert all(s.start == 0 for s, _ in expanding)
    rolling = fold_slices(1000, 0.2, 3, "rolling")
    assert [s.stop - s.start - n for s, n in rolling] == [800, 800, 800]  # same history length each time


def test_same_data_params_and_seed_give_the_same_forecasts(small_prices):
    data = make_dataset(small_prices, PRE)
    np.testing.assert_array_equal(train_and_forecast(data, TRAIN), train_and_forecast(data, TRAIN))


def test_predictions_up_to_day_t_ignore_later_days(small_prices):
    """Changing every bar after day t changes no forecast made on or before t."""
    base = make_dataset(small_prices, PRE)
    t = int(np.searchsorted(small_prices["Date"].to_numpy(), base.dates["test"][40]))
    changed = small_prices.copy()
    changed.loc[t + 1 :, ["Open", "High", "Low", "Close"]] *= 0.6
    other = make_dataset(changed, PRE)
    upto = base.dates["test"] <= small_prices["Date"].iloc[t]
    a, b = train_and_forecast(base, TRAIN), train_and_forecast(other, TRAIN)
    np.testing.assert_array_equal(a[upto], b[upto])
    assert not np.allclose(a[~upto], b[~upto])  # and the later ones do move: the check can fail


@pytest.mark.parametrize("window", ["expanding", "rolling"])
def test_walk_forward_refits_before_each_fold_on_the_past_only(small_prices, window):
    forecasts = walk_forward(small_prices, PRE, TRAIN, 2, window)
    test_dates = make_dataset(small_prices, PRE).dates["test"]
    np.testing.assert_array_equal(forecasts["date"].to_numpy(), test_dates)
    sizes = forecasts.groupby("fold")["train_samples"].first().tolist()
    assert sizes[1] > sizes[0] if window == "expanding" else sizes[1] == sizes[0]
    report = walk_forward_report(forecasts)
    assert [f["fold"] for f in report["folds"]] == [1, 2]
    assert report["pooled"]["days"] == len(test_dates)
    # Fold 1's model never saw fold 2: changing fold 2's bars leaves fold 1's forecasts alone.
    cut = int(np.searchsorted(small_prices["Date"].to_numpy(), forecasts.loc[forecasts["fold"] == 2, "date"].iloc[0]))
    changed = small_prices.copy()
    changed.loc[cut + 1 :, ["Open", "High", "Low", "Close"]] *= 1.3
    again = walk_forward(changed, PRE, TRAIN, 2, window)
    first = forecasts["fold"] == 1
    np.testing.assert_array_equal(forecasts.loc[first, "forecast"], again.loc[first, "forecast"])


def test_seed_report_gives_mean_and_spread(small_prices):
    report = seed_report(make_dataset(small_prices, PRE), TRAIN, [1, 2, 3])
    ratios = [r["mae_ratio"] for r in report["runs"]]
    assert report["mae_ratio_mean"] == pytest.approx(np.mean(ratios))
    assert report["mae_ratio_std"] == pytest.approx(np.std(ratios, ddof=1)) and report["mae_ratio_std"] > 0
