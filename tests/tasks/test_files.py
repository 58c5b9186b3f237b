"""The trained forecaster handed from stage to stage: one file, the same bytes for the same forecaster, and within
one process the very object saved."""

from __future__ import annotations

import pandas as pd
import pytest

from stockflow import forecaster as forecasters
from stockflow.config import PreprocessParams, TrainParams
from stockflow.dataset import make_dataset
from stockflow.forecaster import fit_forecaster
from tasks.services import forecaster_file as files

pytestmark = pytest.mark.slow  # trains (tiny) models


@pytest.fixture(scope="module")
def data():
    from arch.data import sp500

    from stockflow.prices import normalise

    prices = normalise(sp500.load()).iloc[-500:].reset_index(drop=True)
    return prices, make_dataset(prices, PreprocessParams(lookback=10))


@pytest.mark.parametrize("architecture", ["lstm"])
def test_a_forecaster_is_one_file_of_the_same_bytes_that_forecasts_as_it_did(architecture, data, tmp_path):
    prices, dataset = data
    params = TrainParams(architecture=architecture, epochs=3, units=4, patience=0)
    first, _ = fit_forecaster(dataset, params)
    again, _ = fit_forecaster(dataset, params)  # the same data, settings and seed: the same bytes
    assert forecasters.dump(first) == forecasters.dump(again)
    path = tmp_path / "forecaster.zip"
    files.save_forecaster(first, path)
    assert files.load_forecaster(path) is first  # evaluate after train in a flow: its traced graphs come with it

    files._FORECASTERS.clear()  # as in a process of its own (a DVC stage)
    read = files.load_forecaster(path)
    assert read is not first and read.architecture == architecture and read.shrink == first.shrink
    pd.testing.assert_frame_equal(read.forecast(prices), first.forecast(prices))
    assert files.load_forecaster(path) is read  # read once per process
    assert forecasters.manifest(path.read_bytes())["lookback"] == 10
