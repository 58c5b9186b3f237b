"""The trained model handed from stage to stage: by its file, and within one process as the very object saved."""

from __future__ import annotations

import numpy as np
import pytest

from stockflow.config import TrainParams
from stockflow.model import build_model, seed_everything
from tasks.services import files

pytestmark = pytest.mark.slow  # builds (tiny) networks


def test_a_model_is_loaded_as_the_object_this_process_saved_with_those_bytes_else_read_from_its_file(tmp_path):
    seed_everything(0)
    first, second = (build_model(10, 1, TrainParams(epochs=1, units=u, patience=0)) for u in (4, 5))
    path = tmp_path / "model.keras"
    files.save_keras(first, path)
    assert files.load_keras(path) is first  # evaluate after train in a flow: its traced graphs come with it

    files.save_keras(second, path)  # other bytes at the same path: the model they are
    assert files.load_keras(path) is second

    files._KERAS_MODELS.clear()  # as in a process of its own (a DVC stage)
    read = files.load_keras(path)
    assert read is not second
    assert all(np.array_equal(a, b) for a, b in zip(read.get_weights(), second.get_weights(), strict=True))
    assert files.load_keras(path) is read  # read once per process
