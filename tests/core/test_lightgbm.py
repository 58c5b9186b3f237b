"""The lgbm family: LightGBM on a universe's Alpha158 rows, early-stopped on the validation dates, per-round
curves, the same model from its bytes, and the same model twice from the same seed."""

from __future__ import annotations

import numpy as np

from stockflow import models
from stockflow.config import UniverseTrainParams
from stockflow.universe import panel
from tests.core.test_bars import market


def _data():
    return panel.make_panel_data(panel.align(market(8, days=420, seed=7)), 1, "rank", 0.2, 0.2, "alpha158")


def _fit(data, **settings):
    params = UniverseTrainParams(architecture="lgbm", epochs=40, patience=5, seed=3,
                                 options={"num_leaves": 7, "min_data_in_leaf": 5, **settings})  # fmt: skip
    family = models.family("lgbm")
    return family, *family.fit_windows(data.windows["train"], data.labels_of("train"), data.windows["val"],
                                       data.labels_of("val"), params)  # fmt: skip


def test_lightgbm_fits_rows_of_factors_with_early_stopping_and_per_round_curves():
    data = _data()
    family, model, history = _fit(data)
    rounds = len(history["val_loss"])
    assert set(history) == {"loss", "val_loss", "mae", "val_mae"} and 1 <= rounds <= 40
    assert model.num_trees() == int(np.argmin(history["val_loss"])) + 1  # the rounds up to the best one are kept
    x = data.windows["test"].take(slice(None))
    again = family.load(family.dump(model))
    np.testing.assert_array_equal(family.predict(again, x), family.predict(model, x))
    assert family.dump(_fit(data)[1]) == family.dump(model)  # seeded: the same bytes
    assert family.size(model) > 0 and family.requirements == ("lightgbm",)
