"""Gradient-boosted trees on the same windows (scikit-learn's HistGradientBoostingRegressor): `gbm`.

Not a network: each window is flattened into one row of lookback x features numbers, and
boosting rounds play the epochs' part. Early stopping watches the validation windows (not a
slice of the training ones); the per-round curves are the same losses a network reports
(MSE and MAE, in the target's scaled units), so the record, the plots and the summary read
the same. Its settings are `train.options` (`Settings`); `train.epochs` caps the rounds,
`train.patience` is the early stop's, `train.seed` its seed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stockflow import models

if TYPE_CHECKING:
    from stockflow.models.settings import TrainParams


class Settings(BaseModel):
    """`train.options` for `gbm`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(0.05, gt=0, le=1, description="shrinkage of each round")
    max_leaf_nodes: int = Field(15, ge=2)
    min_samples_leaf: int = Field(50, ge=1)
    l2_regularization: float = Field(1.0, ge=0)


def _rows(windows: np.ndarray) -> np.ndarray:
    return models.flat_rows(windows)


class Boosting(models.Pickled, models.WholeRows):
    """Gradient-boosted regression trees as a model family: `train.architecture: gbm`."""

    names = ("gbm",)
    requirements = ("scikit-learn",)
    Settings = Settings

    def _fit(self, x_train, y_train, x_val, y_val, params: TrainParams, on_epoch: models.EpochCallback | None):
        from sklearn.ensemble import HistGradientBoostingRegressor

        s = Settings.model_validate(params.options)
        x, y = _rows(x_train), np.asarray(y_train, dtype=np.float64)
        x_val, y_val = _rows(x_val), np.asarray(y_val, dtype=np.float64)
        model = HistGradientBoostingRegressor(
            learning_rate=s.learning_rate, max_iter=params.epochs, max_leaf_nodes=s.max_leaf_nodes,
            min_samples_leaf=s.min_samples_leaf, l2_regularization=s.l2_regularization,
            early_stopping=params.patience > 0, n_iter_no_change=max(params.patience, 1), scoring="loss",
            random_state=params.seed,
        )  # fmt: skip
        fit_args = {"X_val": x_val, "y_val": y_val} if params.patience > 0 else {}
        model.fit(x, y, **fit_args)
        models.batch_done()
        history: models.History = {"loss": [], "val_loss": [], "mae": [], "val_mae": []}
        hooks = models.epoch_hooks(on_epoch)
        rounds = zip(model.staged_predict(x), model.staged_predict(x_val), strict=True)
        for epoch, (fitted, forecast) in enumerate(rounds):
            logs = {
                "loss": float(np.mean((fitted - y) ** 2)),
                "val_loss": float(np.mean((forecast - y_val) ** 2)),
                "mae": float(np.mean(np.abs(fitted - y))),
                "val_mae": float(np.mean(np.abs(forecast - y_val))),
            }
            for key, value in logs.items():
                history[key].append(value)
            for hook in hooks:
                hook(epoch, logs)
        return model, history

    def _predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        return model.predict(_rows(windows))

    def size(self, model: Any) -> int:
        return int(sum(len(tree.nodes) for rounds in model._predictors for tree in rounds))


FAMILY = Boosting()
