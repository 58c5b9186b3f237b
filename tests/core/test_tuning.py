"""A study's pure parts: a trial's objective reads the training and validation windows only, the settings it tries
are ones a run takes, and the settings to beat are its first trial."""

from __future__ import annotations

import numpy as np
import pytest

from stockflow import tuning
from stockflow.config import Dimension, parse_params
from stockflow.data import synthetic
from stockflow.universe import panel
from tests.core.test_intervals import garch_prices

TINY = ["train.epochs=2", "train.units=4", "train.patience=0", "preprocess.lookback=10", "train.batch_size=64"]
UNIVERSE_TINY = ["universe.train.epochs=2", "universe.train.units=4", "universe.train.patience=0",
                 "universe.preprocess.lookback=10", "universe.train.batch_size=256"]  # fmt: skip


def shake_after(frame, after, seed=1):
    """Every bar after `after` multiplied by a wild random walk: a crash and a bubble."""
    frame = frame.copy()
    later = frame["Date"] > after
    factor = np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.08, int(later.sum()))))
    columns = [c for c in ("Open", "High", "Low", "Close") if c in frame]
    frame.loc[later, columns] = frame.loc[later, columns].mul(factor, axis=0).to_numpy()
    return frame


@pytest.mark.slow  # trains (tiny) networks
def test_a_tickers_trial_scores_the_validation_window_and_never_reads_the_test_window():
    prices = garch_prices(500, seed=2)
    params = parse_params({}, TINY)
    value, history = tuning.ticker_objective(prices, params)
    assert value == pytest.approx(history["val_loss"][-1], rel=1e-4)  # no early stopping: the last epoch's model
    from stockflow.ticker.dataset import make_dataset

    last_val = make_dataset(prices, params.preprocess).dates["val"].max()
    again, _ = tuning.ticker_objective(shake_after(prices, last_val + np.timedelta64(1, "D")), params)
    assert again == pytest.approx(value, rel=1e-6)
    first_val = make_dataset(prices, params.preprocess).dates["val"].min()
    moved, _ = tuning.ticker_objective(shake_after(prices, first_val), params)
    assert moved != pytest.approx(value, rel=1e-3)  # the test above could fail


@pytest.mark.slow
def test_a_universes_trial_scores_the_validation_rank_ic_and_never_reads_the_test_window():
    frames = synthetic.universe(6, 600, synthetic.PLANTED, seed=3)
    params = parse_params({}, UNIVERSE_TINY)
    value, _ = tuning.universe_objective(frames, params)
    p = params.universe.preprocess
    data = panel.make_panel_data(panel.align(frames), p.lookback, p.label, p.test_fraction, p.val_fraction)
    dates = data.panel.dates
    last_val, first_val = dates[data.split_days["val"][-1]], dates[data.split_days["val"][0]]
    # The label of the last validation day is its next day's return: the test window begins after that bar.
    after = dates[data.split_days["val"][-1] + 1]
    again, _ = tuning.universe_objective({t: shake_after(f, after) for t, f in frames.items()}, params)
    assert again == pytest.approx(value, rel=1e-6) and last_val < after
    moved, _ = tuning.universe_objective({t: shake_after(f, first_val, seed=i) for i, (t, f) in
                                          enumerate(frames.items())}, params)  # fmt: skip
    assert moved != pytest.approx(value, rel=1e-3)


def test_the_settings_to_beat_are_the_current_ones_that_the_space_holds():
    params = parse_params({}, ["preprocess.lookback=22", "train.units=50"])
    space = {"preprocess.lookback": Dimension(type="int", low=10, high=60, step=5),  # 22 is off the step
             "train.units": Dimension(type="int", low=16, high=128, log=True),
             "train.dropout": Dimension(type="float", low=0.2, high=0.4),  # 0.1 is outside
             "train.architecture": Dimension(type="categorical", choices=("lstm", "gru"))}  # fmt: skip
    assert tuning.incumbent(params, space) == {"train.units": 50, "train.architecture": "lstm"}


def test_a_trials_settings_as_overrides_and_as_a_preset_make_the_same_run():
    values = {"preprocess.lookback": 35, "train.units": 70, "train.learning_rate": 0.0007, "train.architecture": "gru"}
    by_set = parse_params({}, tuning.as_overrides(values))
    by_preset = parse_params({"presets": {"tuned-x": tuning.as_preset(values)}}, ["preset=tuned-x"])
    assert by_set.model_dump(exclude={"preset"}) == by_preset.model_dump(exclude={"preset"})
    assert (by_preset.train.units, by_preset.train.architecture, by_preset.preprocess.lookback) == (70, "gru", 35)


def test_the_space_signature_changes_with_any_range_and_not_with_order():
    a = {"train.units": Dimension(type="int", low=16, high=128), "train.layers": Dimension(type="int", low=1, high=3)}
    b = dict(reversed(list(a.items())))
    c = {**a, "train.units": Dimension(type="int", low=16, high=129)}
    assert tuning.signature(a) == tuning.signature(b) != tuning.signature(c)
