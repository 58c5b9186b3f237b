"""The recurrent forecasters and their training loop.

The paper's network is the default architecture: LSTM(50) -> Dropout(0.1) ->
LSTM(50) -> Dense(1), MSE loss, Adam, MAE metric.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np

from stockflow.config import TrainParams

if TYPE_CHECKING:
    from stockflow.dataset import Dataset

EpochCallback = Callable[[int, dict[str, float]], None]
_batch_hooks: list[Callable[[], None]] = []
_epoch_hooks: list[EpochCallback] = []


@contextmanager
def calling_every_batch(hook: Callable[[], None]) -> Iterator[None]:
    """Call `hook` after every training batch of every fit in this block (e.g. to stop at a safe point)."""
    _batch_hooks.append(hook)
    try:
        yield
    finally:
        _batch_hooks.remove(hook)


@contextmanager
def calling_every_epoch(hook: EpochCallback) -> Iterator[None]:
    """Call `hook(epoch, logs)` after every epoch of every fit in this block (e.g. to show progress elsewhere)."""
    _epoch_hooks.append(hook)
    try:
        yield
    finally:
        _epoch_hooks.remove(hook)


def seed_everything(seed: int) -> None:
    """Same data, params and seed -> the same weights, on CPU."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(seed)
    tf.config.experimental.enable_op_determinism()


def build_model(lookback: int, n_features: int, params: TrainParams) -> Any:
    """The compiled network of `params.architecture` for windows of shape (lookback, n_features)."""
    import keras
    from keras import layers

    recurrent = layers.GRU if params.architecture == "gru" else layers.LSTM
    # Layers named here, not by Keras' process-wide counters: the same network saves to the same bytes whatever
    # this process built before it (a watchlist worker trains many).
    model = keras.Sequential(name=f"stockflow_{params.architecture}")
    model.add(keras.Input(shape=(lookback, n_features), name="windows"))
    if params.architecture == "cnn_lstm":
        # Local patterns first, then the sequence model over the pooled feature maps.
        model.add(layers.Conv1D(params.units, kernel_size=3, padding="causal", activation="relu", name="conv"))
        model.add(layers.MaxPooling1D(pool_size=2, name="pool"))
    for i in range(params.layers):
        last = i == params.layers - 1
        model.add(recurrent(params.units, return_sequences=not last, name=f"recurrent_{i + 1}"))
        if not last and params.dropout > 0:
            model.add(layers.Dropout(params.dropout, name=f"dropout_{i + 1}"))
    model.add(layers.Dense(1, name="forecast"))
    # The metric as an object and the optimizer built here, not on the first batch: variables created while
    # TensorFlow traces the training step make it trace that step twice (about 1 s per model, the same weights).
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=params.learning_rate, name="adam"),
        loss="mse",
        metrics=[keras.metrics.MeanAbsoluteError(name="mae")],
    )
    model.optimizer.build(model.trainable_variables)
    return model


def fit(
    model: Any,
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_val: np.ndarray,
    y_val: np.ndarray,
    params: TrainParams,
    on_epoch: EpochCallback | None = None,
) -> dict[str, list[float]]:
    """Train with the validation slice watched; returns the per-epoch history.

    With `patience` > 0, training stops when `val_loss` stops improving and
    the best weights are restored.
    """
    import keras

    callbacks: list[Any] = []
    if params.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.patience, restore_best_weights=True)
        )
    if _batch_hooks:
        callbacks.append(keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: _run_hooks()))
    epoch_hooks = [*([on_epoch] if on_epoch is not None else []), *_epoch_hooks]
    if epoch_hooks:

        def each_epoch(epoch: int, logs: dict | None) -> None:
            values = {k: float(v) for k, v in (logs or {}).items()}
            for hook in epoch_hooks:
                hook(epoch, values)

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=each_epoch))
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=params.epochs,
        batch_size=params.batch_size,
        shuffle=True,
        verbose=0,
        callbacks=callbacks,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


def _run_hooks() -> None:
    for hook in list(_batch_hooks):
        hook()


def train_model(data: Dataset, params: TrainParams, on_epoch: EpochCallback | None = None) -> tuple[Any, dict]:
    """A fresh, seeded network fitted on `data`'s training windows; the model and its per-epoch history."""
    seed_everything(params.seed)
    _, lookback, n_features = data.x["train"].shape
    model = build_model(lookback, n_features, params)
    history = fit(model, data.x["train"], data.y["train"], data.x["val"], data.y["val"], params, on_epoch)
    return model, history


PREDICT_BATCH = 1024


def predict(model: Any, x: np.ndarray) -> np.ndarray:
    """The network's (scaled) outputs for windows `x`, one per window.

    The same batches and the same outputs as `model.predict(x, batch_size=PREDICT_BATCH)`, through one graph per
    model for any number of windows: Keras traces its predict step again for every new batch size (0.3 s each).
    A window's output depends on the batch it is in, so the batches are always cut the same way.
    """
    forward = _forward(model)
    x = np.asarray(x, dtype=np.float32)  # as Keras feeds it
    batches = [forward(x[i : i + PREDICT_BATCH]).numpy()[:, 0] for i in range(0, len(x), PREDICT_BATCH)]
    return np.concatenate(batches) if batches else np.empty(0, dtype=np.float32)


_FORWARDS: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _forward(model: Any) -> Any:
    """The model's inference pass as a TensorFlow function of any batch size (traced once)."""
    import tensorflow as tf

    if model not in _FORWARDS:
        ref = weakref.ref(model)  # the function must not keep its model alive
        spec = tf.TensorSpec([None, *model.input_shape[1:]], tf.float32)
        _FORWARDS[model] = tf.function(lambda v: ref()(v, training=False), input_signature=[spec])
    return _FORWARDS[model]
