"""Model families: what learns the next day's target from the lookback windows.

A family is one module here that defines `FAMILY`, an object with the `Family`
methods; `train.architecture` in params.yaml names it (a family may answer to
several names: the recurrent one is lstm, gru and cnn_lstm). Its own settings,
if it has any, are `train.options`, validated by its `Settings`. Nothing else
changes to add one: training, the forecaster's file, the registered model,
serving, evaluation and the monitor all go through these methods.

Training reports to the hooks below (`calling_every_batch`, `calling_every_epoch`):
a stop requested between batches, progress shown elsewhere.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from stockflow import plugins

if TYPE_CHECKING:
    from pydantic import BaseModel

    from stockflow.models.settings import TrainParams
    from stockflow.ticker.dataset import Dataset
    from stockflow.universe.panel import Windows

EpochCallback = Callable[[int, dict[str, float]], None]
History = dict[str, list[float]]  # per epoch: loss, val_loss (MSE), mae, val_mae (MAE), in the target's scaled units


class Family(Protocol):
    """What a model family does; `names` are the `train.architecture` values it answers to."""

    names: tuple[str, ...]
    Settings: type[BaseModel] | None  # its `train.options`, or None when it has none
    requirements: tuple[str, ...]  # the pip distributions its registered model needs to load and predict

    def fit(self, data: Dataset, params: TrainParams, on_epoch: EpochCallback | None = None) -> tuple[Any, History]:
        """A fresh model, seeded by `params.seed`, fitted on the training windows, watching the validation ones."""

    def fit_windows(self, train: Windows, y_train: np.ndarray, val: Windows, y_val: np.ndarray, params: TrainParams,
                    on_epoch: EpochCallback | None = None) -> tuple[Any, History]:  # fmt: skip
        """The same on a universe's windows, gathered batch by batch as training asks for them (never all at once)."""

    def predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        """One (scaled) output per window of shape (lookback, features)."""

    def dump(self, model: Any) -> bytes:
        """The model as bytes: the same model gives the same bytes (DVC compares them)."""

    def load(self, blob: bytes) -> Any:
        """The model `dump` gave these bytes for."""

    def size(self, model: Any) -> int:
        """How many numbers the model learnt (a network's weights, a tree ensemble's nodes)."""


def flat_rows(windows: np.ndarray, dtype: type = np.float64) -> np.ndarray:
    """Windows (n, lookback, features) as rows (n, lookback x features): what a tree family fits."""
    return np.asarray(windows, dtype=dtype).reshape(len(windows), -1)


class WholeRows:
    """What a family that needs every row at once shares: a ticker's windows and a universe's, gathered whole
    (mind the memory on a large universe), go to its one `_fit(x_train, y_train, x_val, y_val, params, on_epoch)`."""

    def fit(self, data: Dataset, params: TrainParams, on_epoch: EpochCallback | None = None):
        return self._fit(data.x["train"], data.y["train"], data.x["val"], data.y["val"], params, on_epoch)

    def fit_windows(self, train: Windows, y_train: np.ndarray, val: Windows, y_val: np.ndarray, params: TrainParams,
                    on_epoch: EpochCallback | None = None):  # fmt: skip
        return self._fit(train.take(slice(None)), y_train, val.take(slice(None)), y_val, params, on_epoch)

    def predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        if len(windows) == 0:
            return np.empty(0)
        return np.asarray(self._predict(model, windows), dtype=np.float64)


class Pickled:
    """What a family whose model is a scikit-learn estimator shares: its bytes are joblib's."""

    def dump(self, model: Any) -> bytes:
        import io

        import joblib

        out = io.BytesIO()
        joblib.dump(model, out)
        return out.getvalue()

    def load(self, blob: bytes) -> Any:
        import io

        import joblib

        return joblib.load(io.BytesIO(blob))


@functools.cache
def families() -> dict[str, Family]:
    """Every family by each name it answers to."""
    return plugins.discover(__name__, __path__, "FAMILY", "names")


def family(architecture: str) -> Family:
    """The family that `train.architecture` names; ValueError naming the choices when none does."""
    return plugins.chosen(families(), architecture, "architecture")


# What the code every registered model carries (stockflow/, its transform and features) needs to load and predict.
CORE_REQUIREMENTS = ("pandas", "numpy", "ta", "pydantic", "joblib", "scikit-learn")


def requirements(architecture: str) -> tuple[str, ...]:
    """The pip distributions a registered model of `architecture` needs: the core's, then its family's own."""
    return tuple(dict.fromkeys([*CORE_REQUIREMENTS, *family(architecture).requirements]))


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


def batch_done() -> None:
    """What a family calls after each training batch (or step)."""
    for hook in list(_batch_hooks):
        hook()


def epoch_hooks(on_epoch: EpochCallback | None) -> list[EpochCallback]:
    """The callbacks a family calls after each epoch (or boosting round): the caller's, then the hooks'."""
    return [*([on_epoch] if on_epoch is not None else []), *_epoch_hooks]


def batch_hooks_active() -> bool:
    return bool(_batch_hooks)
