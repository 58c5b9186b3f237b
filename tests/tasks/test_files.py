"""The trained forecaster handed from stage to stage: one file, the same bytes for the same forecaster, and within
one process the very object saved."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow.config import PreprocessParams, TrainParams
from stockflow.ticker import forecaster as forecasters
from stockflow.ticker.dataset import make_dataset
from stockflow.ticker.forecaster import fit_forecaster
from tasks.services import model_files as files

pytestmark = pytest.mark.slow  # trains (tiny) models


@pytest.fixture(scope="module")
def data():
    from arch.data import sp500

    from stockflow.data.prices import normalise

    prices = normalise(sp500.load()).iloc[-500:].reset_index(drop=True)
    return prices, make_dataset(prices, PreprocessParams(lookback=10))


@pytest.mark.parametrize("architecture", ["lstm", "gbm"])
def test_a_forecaster_is_one_file_of_the_same_bytes_that_forecasts_as_it_did(architecture, data, tmp_path):
    prices, dataset = data
    params = TrainParams(architecture=architecture, epochs=3, units=4, patience=0)
    first, _ = fit_forecaster(dataset, params)
    again, _ = fit_forecaster(dataset, params)  # the same data, settings and seed: the same bytes
    assert forecasters.dump(first) == forecasters.dump(again)
    path = tmp_path / "forecaster.zip"
    files.save_forecaster(first, path)
    assert files.load_forecaster(path) is first  # evaluate after train in a flow: its traced graphs come with it

    files._KEPT.clear()  # as in a process of its own (a DVC stage)
    read = files.load_forecaster(path)
    assert read is not first and read.architecture == architecture and read.shrink == first.shrink
    pd.testing.assert_frame_equal(read.forecast(prices), first.forecast(prices))
    assert files.load_forecaster(path) is read  # read once per process
    assert forecasters.manifest(path.read_bytes())["lookback"] == 10


def test_boosted_trees_learn_a_planted_signal_through_the_model_plug_in_point():
    """The second family, not a network, trained as the LSTM is: its curves, its early stop, its forecasts."""
    from stockflow import models

    rng = np.random.default_rng(0)
    n = 3000
    r = rng.normal(0, 0.01, n)
    r[1:] += -0.4 * r[:-1]  # tomorrow's return reverts a part of today's: learnable from the last window
    close = 100 * np.exp(np.cumsum(r))
    prices = pd.DataFrame({"Date": pd.bdate_range("2000-01-03", periods=n), "Open": close, "High": close * 1.001,
                           "Low": close * 0.999, "Close": close, "Volume": 1})  # fmt: skip
    dataset = make_dataset(prices, PreprocessParams(lookback=5))
    params = TrainParams(architecture="gbm", epochs=200, patience=10)
    forecaster, history = fit_forecaster(dataset, params)
    assert set(history) == {"loss", "val_loss", "mae", "val_mae"} and len(history["loss"]) <= 200
    assert history["val_loss"][-1] < history["val_loss"][0]
    test = forecaster.next_closes(dataset.x["test"], dataset.close["test"])
    persistence = np.mean(np.abs(dataset.close["test"] - dataset.next_close["test"]))
    # An oracle that knows the rule would reach 0.92 of persistence's error; no learning, 1.0.
    assert np.mean(np.abs(test - dataset.next_close["test"])) < 0.97 * persistence
    assert models.family("gbm").size(forecaster.model) > 0
