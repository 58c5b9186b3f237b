"""The network's two speed promises: predictions are Keras' own, bit for bit, through one traced graph; training
traces its step once (no variable is created while it is traced)."""

from __future__ import annotations

import numpy as np
import pytest

from stockflow.config import TrainParams
from stockflow.models.recurrent import PREDICT_BATCH, _forward, build_model, fit, predict, seed_everything

pytestmark = pytest.mark.slow  # builds (tiny) networks

TINY = TrainParams(epochs=1, units=4, patience=0)


@pytest.mark.parametrize("architecture", ["lstm", "gru", "cnn_lstm"])
def test_predictions_equal_keras_predict_bit_for_bit_for_any_number_of_windows(architecture):
    seed_everything(0)
    model = build_model(12, 2, TINY.model_copy(update={"architecture": architecture}))
    windows = np.random.default_rng(0).normal(size=(2 * PREDICT_BATCH + 50, 12, 2))  # float64, as datasets are
    for n in (1, 401, PREDICT_BATCH, PREDICT_BATCH + 1, len(windows)):
        keras_says = np.asarray(model.predict(windows[:n], verbose=0, batch_size=PREDICT_BATCH))[:, 0]
        assert np.array_equal(predict(model, windows[:n]), keras_says), n
    assert predict(model, windows[:0]).shape == (0,)
    assert _forward(model).experimental_get_tracing_count() == 1  # one graph for every length above


def test_training_creates_no_variable_while_tracing_its_step_and_gives_the_same_weights_each_time():
    """A variable created while TensorFlow traces the training step makes it trace that step a second time."""
    import tensorflow as tf

    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(300, 10, 1)).astype(np.float32), rng.normal(size=300).astype(np.float32)
    weights = []
    for _ in range(2):
        seed_everything(5)
        model = build_model(10, 1, TINY)
        created: list[str] = []

        def counted(next_creator, created=created, **kwargs):
            created.append(kwargs.get("name"))
            return next_creator(**kwargs)

        with tf.variable_creator_scope(counted):
            fit(model, x, y, x[:50], y[:50], TINY)
        assert created == []
        weights.append(np.concatenate([w.ravel() for w in model.get_weights()]))
    assert np.array_equal(*weights)


@pytest.mark.parametrize("architecture", ["lstm", "gru", "cnn_lstm"])
def test_another_threads_draw_from_pythons_random_does_not_move_the_weights(architecture):
    """Prefect's and MLflow's clients draw from Python's global `random` in threads of their own: a draw between the
    seeding and the network's construction must not change the network. (It did, before each initializer and
    dropout got its seed: the likely cause of a study's default-settings run once coming out unlike its trial 0,
    the same settings, when the suite ran three workers on two cores.)"""
    import random

    params = TINY.model_copy(update={"architecture": architecture, "layers": 2, "dropout": 0.1})
    seed_everything(3)
    alone = build_model(10, 2, params).get_weights()
    seed_everything(3)
    random.random()  # as another thread would, at any moment
    disturbed = build_model(10, 2, params).get_weights()
    assert len(alone) == len(disturbed) and all(np.array_equal(a, b) for a, b in zip(alone, disturbed, strict=True))
