"""LightGBM, the field's boosted trees, on rows of factors: `lgbm`.

What Qlib's benchmark trains on Alpha158 (`universe.preprocess.features: alpha158` with a lookback of 1 gives
one row of 158 factors per ticker and day; a longer lookback flattens its days into one row). Boosting rounds
play the epochs' part: `train.epochs` caps them, `train.patience` is the early stop's on the validation dates,
`train.seed` seeds it; the per-round curves are the same MSE and MAE a network reports. Its own settings
(`train.options`, `Settings`) default to Qlib's benchmark configuration
(`examples/benchmarks/LightGBM/workflow_config_lightgbm_Alpha158.yaml`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from stockflow import models

if TYPE_CHECKING:
    from stockflow.models.settings import TrainParams


class Settings(BaseModel):
    """`train.options` for `lgbm`: Qlib's benchmark parameters by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    learning_rate: float = Field(0.2, gt=0, le=1)
    num_leaves: int = Field(210, ge=2)
    max_depth: int = Field(8, ge=-1)
    lambda_l1: float = Field(205.6999, ge=0)
    lambda_l2: float = Field(580.9768, ge=0)
    colsample_bytree: float = Field(0.8879, gt=0, le=1)
    subsample: float = Field(0.8789, gt=0, le=1)
    subsample_freq: int = Field(1, ge=0, description="bagging every this many rounds (0: off)")
    min_data_in_leaf: int = Field(20, ge=1)


def _rows(windows: np.ndarray) -> np.ndarray:
    return models.flat_rows(windows, np.float32)


class LightGBM(models.WholeRows):
    """LightGBM's gradient-boosted trees as a model family: `train.architecture: lgbm`."""

    names = ("lgbm",)
    requirements = ("lightgbm",)
    Settings = Settings

    def _fit(self, x_train, y_train, x_val, y_val, params: TrainParams, on_epoch: models.EpochCallback | None):
        import lightgbm as lgb

        s = Settings.model_validate(params.options)
        train = lgb.Dataset(_rows(x_train), np.asarray(y_train, dtype=np.float64), free_raw_data=True)
        valid = lgb.Dataset(_rows(x_val), np.asarray(y_val, dtype=np.float64), reference=train)
        config = {
            "objective": "regression", "metric": ["l2", "l1"], "verbosity": -1, "seed": params.seed,
            "deterministic": True, "force_row_wise": True, "learning_rate": s.learning_rate,
            "num_leaves": s.num_leaves, "max_depth": s.max_depth, "lambda_l1": s.lambda_l1, "lambda_l2": s.lambda_l2,
            "feature_fraction": s.colsample_bytree, "bagging_fraction": s.subsample, "bagging_freq": s.subsample_freq,
            "min_data_in_leaf": s.min_data_in_leaf,
        }  # fmt: skip
        history: models.History = {"loss": [], "val_loss": [], "mae": [], "val_mae": []}
        hooks = models.epoch_hooks(on_epoch)

        def report(env: Any) -> None:  # one boosting round done: its losses, as a network's epoch reports them
            got = {(name, metric): value for name, metric, value, _ in env.evaluation_result_list}
            logs = {"loss": got[("train", "l2")], "val_loss": got[("valid", "l2")], "mae": got[("train", "l1")],
                    "val_mae": got[("valid", "l1")]}  # fmt: skip
            for key, value in logs.items():
                history[key].append(float(value))
            for hook in hooks:
                hook(env.iteration, logs)
            models.batch_done()

        callbacks = [report]
        if params.patience > 0:
            callbacks.append(lgb.early_stopping(params.patience, first_metric_only=True, verbose=False))
        booster = lgb.train(config, train, num_boost_round=params.epochs, valid_sets=[train, valid],
                            valid_names=["train", "valid"], callbacks=callbacks)  # fmt: skip
        if booster.best_iteration > 0:  # keep the rounds up to the best one, as a network keeps its best weights
            booster = lgb.Booster(model_str=booster.model_to_string(num_iteration=booster.best_iteration))
        return booster, history

    def _predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        return model.predict(_rows(windows))

    def dump(self, model: Any) -> bytes:
        return model.model_to_string().encode()

    def load(self, blob: bytes) -> Any:
        import lightgbm as lgb

        return lgb.Booster(model_str=blob.decode())

    def size(self, model: Any) -> int:
        return int(sum(tree["num_leaves"] * 2 - 1 for tree in model.dump_model()["tree_info"]))


FAMILY = LightGBM()
