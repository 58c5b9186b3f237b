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
