"""The recurrent networks (Keras): `lstm`, `gru` and `cnn_lstm`.

The paper's network is the default architecture: LSTM(50) -> Dropout(0.1) ->
LSTM(50) -> Dense(1), MSE loss, Adam, MAE metric.
"""

from __future__ import annotations

import json
import random
import weakref
from typing import TYPE_CHECKING, Any

import numpy as np

from stockflow import models

if TYPE_CHECKING:
    from stockflow.models.settings import TrainParams
    from stockflow.ticker.dataset import Dataset
    from stockflow.universe.panel import Windows


def seed_everything(seed: int) -> None:
    """Same data, params and seed -> the same weights, on CPU (with TensorFlow, the default backend)."""
    import keras

    keras.utils.set_random_seed(seed)
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        tf.config.experimental.enable_op_determinism()


def build_model(lookback: int, n_features: int, params: TrainParams) -> Any:
    """The compiled network of `params.architecture` for windows of shape (lookback, n_features)."""
    import keras
    from keras import initializers, layers

    # Each random initializer and dropout is given its seed, drawn from a generator of this model's own in the
    # order Keras would draw them from Python's global `random`: the weights seeding that would give, which another
    # thread's draw in between (Prefect's and MLflow's clients draw from it) cannot move.
    draw = random.Random(params.seed)

    def seed() -> int:
        return draw.randint(1, int(1e9))  # as keras.random.make_default_seed

    recurrent = layers.GRU if params.architecture == "gru" else layers.LSTM
    # Layers named here, not by Keras' process-wide counters: the same network saves to the same bytes whatever
    # this process built before it (a watchlist worker trains many).
    model = keras.Sequential(name=f"stockflow_{params.architecture}")
    model.add(keras.Input(shape=(lookback, n_features), name="windows"))
    if params.architecture == "cnn_lstm":
        # Local patterns first, then the sequence model over the pooled feature maps.
        model.add(layers.Conv1D(params.units, kernel_size=3, padding="causal", activation="relu", name="conv",
                                kernel_initializer=initializers.GlorotUniform(seed())))  # fmt: skip
        model.add(layers.MaxPooling1D(pool_size=2, name="pool"))
    for i in range(params.layers):
        last = i == params.layers - 1
        kernel, inner = initializers.GlorotUniform(seed()), initializers.Orthogonal(seed=seed())
        model.add(recurrent(params.units, return_sequences=not last, name=f"recurrent_{i + 1}",
                            kernel_initializer=kernel, recurrent_initializer=inner, seed=seed()))  # fmt: skip
        if not last and params.dropout > 0:
            model.add(layers.Dropout(params.dropout, name=f"dropout_{i + 1}", seed=seed()))
    model.add(layers.Dense(1, name="forecast", kernel_initializer=initializers.GlorotUniform(seed())))
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
    x_train: Any,
    y_train: np.ndarray | None,
    x_val: Any,
    y_val: np.ndarray | None,
    params: TrainParams,
    on_epoch: models.EpochCallback | None = None,
) -> models.History:
    """Train with the validation slice watched; returns the per-epoch history. `x_train` and `x_val` are arrays with
    their labels in `y_train` and `y_val`, or batches that carry their labels (`y_*` None).

    With `patience` > 0, training stops when `val_loss` stops improving and
    the best weights are restored.
    """
    import keras

    callbacks: list[Any] = []
    if params.patience > 0:
        callbacks.append(
            keras.callbacks.EarlyStopping(monitor="val_loss", patience=params.patience, restore_best_weights=True)
        )
    if models.batch_hooks_active():
        callbacks.append(keras.callbacks.LambdaCallback(on_train_batch_end=lambda batch, logs: models.batch_done()))
    epoch_hooks = models.epoch_hooks(on_epoch)
    if epoch_hooks:

        def each_epoch(epoch: int, logs: dict | None) -> None:
            values = {k: float(v) for k, v in (logs or {}).items()}
            for hook in epoch_hooks:
                hook(epoch, values)

        callbacks.append(keras.callbacks.LambdaCallback(on_epoch_end=each_epoch))
    arrays = y_train is not None
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val) if arrays else x_val,
        epochs=params.epochs,
        batch_size=params.batch_size if arrays else None,
        shuffle=arrays,  # batches shuffle themselves
        verbose=0,
        callbacks=callbacks,
    )
    return {k: [float(v) for v in values] for k, values in history.history.items()}


PREDICT_BATCH = 1024


def predict(model: Any, x: np.ndarray) -> np.ndarray:
    """The network's (scaled) outputs for windows `x`, one per window.

    The same batches and the same outputs as `model.predict(x, batch_size=PREDICT_BATCH)`, through one graph per
    model for any number of windows: Keras traces its predict step again for every new batch size (0.3 s each).
    A window's output depends on the batch it is in, so the batches are always cut the same way.
    """
    import keras

    x = np.asarray(x, dtype=np.float32)  # as Keras feeds it
    if keras.backend.backend() != "tensorflow":  # JAX or PyTorch (a GPU): Keras' own predict
        return model.predict(x, batch_size=PREDICT_BATCH, verbose=0)[:, 0] if len(x) else np.empty(0, np.float32)
    forward = _forward(model)
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


def dump(model: Any) -> bytes:
    """The `.keras` archive's bytes, the same for the same network: Keras stamps the archive with the time of
    saving (`date_saved`, the weights entry's date) and numbers shared objects by their address in memory, both
    set aside here."""
    import io
    import tempfile
    import zipfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp:  # Keras saves to a `.keras` path, not to a stream
        path = Path(tmp) / "model.keras"
        model.save(path)
        with zipfile.ZipFile(path) as z:
            entries = [(info, z.read(info)) for info in z.infolist()]
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for info, data in entries:
            if info.filename == "metadata.json":
                meta = json.loads(data)
                meta.pop("date_saved", None)
                data = json.dumps(meta).encode()
            elif info.filename == "config.json":
                data = json.dumps(_renumbered(json.loads(data), {})).encode()
            fixed = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            fixed.compress_type, fixed.external_attr = info.compress_type, info.external_attr
            z.writestr(fixed, data)
    return out.getvalue()


def _renumbered(node: Any, ids: dict[int, int]) -> Any:
    """A Keras config with its `shared_object_id`s (memory addresses) numbered 1, 2, ... in order of appearance."""
    if isinstance(node, dict):
        return {k: ids.setdefault(v, len(ids) + 1) if k == "shared_object_id" else _renumbered(v, ids)
                for k, v in node.items()}  # fmt: skip
    if isinstance(node, list):
        return [_renumbered(v, ids) for v in node]
    return node


def load(blob: bytes) -> Any:
    import tempfile
    from pathlib import Path

    import keras

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.keras"
        path.write_bytes(blob)
        return keras.models.load_model(path)


def batches(windows: Windows, y: np.ndarray, batch_size: int, seed: int | None) -> Any:
    """A Keras PyDataset of (windows, labels) batches gathered on demand; shuffled each epoch when `seed` is given
    (the same order for the same seed)."""
    import keras

    class Batches(keras.utils.PyDataset):
        def __init__(self) -> None:
            super().__init__()
            self.epoch, self.order = 0, np.arange(len(windows))
            self.on_epoch_end()

        def __len__(self) -> int:
            return -(-len(windows) // batch_size)

        def __getitem__(self, i: int) -> tuple[np.ndarray, np.ndarray]:
            which = np.sort(self.order[i * batch_size : (i + 1) * batch_size])  # sorted: the gather reads in order
            return windows.take(which), y[which]

        def on_epoch_end(self) -> None:
            if seed is not None:
                self.order = np.random.default_rng((seed, self.epoch)).permutation(len(windows))
                self.epoch += 1

    return Batches()


class Recurrent:
    """The recurrent networks as a model family: `train.architecture` lstm, gru or cnn_lstm."""

    names = ("lstm", "gru", "cnn_lstm")
    requirements = ("tensorflow-cpu", "keras")
    Settings = None  # the network's settings are train's own (layers, units, dropout, epochs, ...)

    def fit(self, data: Dataset, params: TrainParams, on_epoch: models.EpochCallback | None = None):
        seed_everything(params.seed)
        _, lookback, n_features = data.x["train"].shape
        model = build_model(lookback, n_features, params)
        history = fit(model, data.x["train"], data.y["train"], data.x["val"], data.y["val"], params, on_epoch)
        return model, history

    def fit_windows(self, train: Windows, y_train: np.ndarray, val: Windows, y_val: np.ndarray, params: TrainParams,
                    on_epoch: models.EpochCallback | None = None):  # fmt: skip
        seed_everything(params.seed)
        model = build_model(train.lookback, train.scaled.shape[-1], params)
        history = fit(model, batches(train, y_train, params.batch_size, params.seed), None,
                      batches(val, y_val, max(params.batch_size, 1024), None), None, params, on_epoch)  # fmt: skip
        return model, history

    predict = staticmethod(predict)
    dump = staticmethod(dump)
    load = staticmethod(load)

    def size(self, model: Any) -> int:
        return int(model.count_params())


FAMILY = Recurrent()
