"""A ridge regression on the same rows: `linear`.

The simplest family that learns: each window flattened into one row (lookback x features), one
least-squares fit with an L2 penalty (scikit-learn's Ridge). What every richer family must beat,
and a member of a rank average (`rank_average`) whose errors differ from the trees'. One "epoch": the
fit; its MSE and MAE on the training and validation windows are the curves a network reports.
Its settings are `train.options` (`Settings`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stockflow import models

if TYPE_CHECKING:
    from stockflow.models.settings import TrainParams


class Settings(BaseModel):
    """`train.options` for `linear`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alpha: float = Field(1.0, ge=0, description="the L2 penalty on the coefficients")


class Linear(models.Pickled, models.WholeRows):
    """A ridge regression as a model family: `train.architecture: linear`."""

    names = ("linear",)
    requirements = ("scikit-learn",)
    Settings = Settings

    def _fit(self, x_train, y_train, x_val, y_val, params: TrainParams, on_epoch: models.EpochCallback | None):
        from sklearn.linear_model import Ridge

        x, y = models.flat_rows(x_train), np.asarray(y_train, dtype=np.float64)
        x_val, y_val = models.flat_rows(x_val), np.asarray(y_val, dtype=np.float64)
        model = Ridge(alpha=Settings.model_validate(params.options).alpha).fit(x, y)
        models.batch_done()
        fitted, forecast = model.predict(x), model.predict(x_val)
        logs = {"loss": float(np.mean((fitted - y) ** 2)), "val_loss": float(np.mean((forecast - y_val) ** 2)),
                "mae": float(np.mean(np.abs(fitted - y))),
                "val_mae": float(np.mean(np.abs(forecast - y_val)))}  # fmt: skip
        for hook in models.epoch_hooks(on_epoch):
            hook(0, logs)
        return model, {key: [value] for key, value in logs.items()}

    def _predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        return model.predict(models.flat_rows(windows))

    def size(self, model: Any) -> int:
        return int(np.size(model.coef_) + 1)


FAMILY = Linear()
