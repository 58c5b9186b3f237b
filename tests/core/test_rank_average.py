"""The families the field uses on factors: a ridge (`linear`), the paper's network on windows of factors, and the
average of several families' ranks (`rank_average`): fitted on a universe's rows, their ranks as defined, their
bytes loading back the same, served from a ranker's file."""

from __future__ import annotations

import numpy as np
import pytest

from stockflow import models
from stockflow.config import UniverseTrainParams
from stockflow.universe import panel
from tests.core.test_bars import market


@pytest.fixture(scope="module")
def data():
    return panel.make_panel_data(panel.align(market(8, days=420, seed=7)), 1, "rank", 0.2, 0.2, "alpha158")


def _fit(data, architecture: str, **options):
    params = UniverseTrainParams(architecture=architecture, epochs=40, patience=5, seed=3, options=options)
    family = models.family(architecture)
    model, history = family.fit_windows(data.windows["train"], data.labels_of("train"), data.windows["val"],
                                        data.labels_of("val"), params)  # fmt: skip
    return family, model, history


def test_a_rank_average_is_the_mean_of_each_members_rank_among_its_own_validation_scores(data):
    members = [{"architecture": "lgbm", "settings": {"options": {"num_leaves": 7, "min_data_in_leaf": 5}}},
               {"architecture": "linear"}]  # fmt: skip
    family, model, history = _fit(data, "rank_average", members=members)
    assert [arch for arch, _, _ in model] == ["lgbm", "linear"] and 1 <= len(history["val_loss"]) <= 40
    test = data.windows["test"].take(slice(None))
    got = family.predict(model, test)
    assert got.shape == (len(test),) and got.min() >= 0 and got.max() <= 1
    val = data.windows["val"].take(slice(None))
    by_hand = []
    for arch, m, _ in model:  # each member's score ranked among its own scores of the validation windows
        own, scores = models.family(arch).predict(m, val), models.family(arch).predict(m, test)
        by_hand.append([(np.sum(own < s) + np.sum(own <= s)) / (2 * len(own)) for s in scores])
    np.testing.assert_allclose(got, np.mean(by_hand, axis=0), rtol=1e-12)
    again = family.load(family.dump(model))
    np.testing.assert_array_equal(family.predict(again, test), got)
    assert family.dump(model) == family.dump(model) and family.size(model) > 158  # the same model, the same bytes
    assert {"lightgbm", "scikit-learn"} <= set(family.requirements)


def test_the_ridge_family_fits_once_and_reports_its_losses_as_one_epoch(data):
    family, model, history = _fit(data, "linear", alpha=10.0)
    assert {k: len(v) for k, v in history.items()} == {"loss": 1, "val_loss": 1, "mae": 1, "val_mae": 1}
    rows = data.windows["test"].take(slice(None))
    from sklearn.linear_model import Ridge

    x = data.windows["train"].take(slice(None)).reshape(len(data.windows["train"]), -1).astype(np.float64)
    y = data.labels_of("train").astype(np.float64)
    direct = Ridge(alpha=10.0).fit(x, y).predict(rows.reshape(len(rows), -1).astype(np.float64))
    np.testing.assert_allclose(family.predict(model, rows), direct, rtol=1e-5, atol=1e-6)
    assert family.size(model) == 159


def test_a_member_that_is_no_family_is_refused_when_the_settings_are_read():
    from stockflow.config import parse_params
    from stockflow.errors import ParamsError

    for members, says in (([{"architecture": "lgbm"}, {"architecture": "nope"}], "nope"),
                          ([{"architecture": "lgbm"}, {"architecture": "rank_average"}], "cannot be a rank average"),
                          ([{"architecture": "lgbm", "settings": {"options": {"num_leaves": 0}}},
                            {"architecture": "linear"}], "num_leaves")):  # fmt: skip
        raw = {"universe": {"train": {"architecture": "rank_average", "options": {"members": members}}}}
        with pytest.raises(ParamsError, match=says):
            parse_params(raw)


def test_the_papers_network_learns_from_windows_of_factors_and_a_rank_average_with_it_serves_from_its_file():
    from stockflow.universe import ranker

    p = panel.align(market(6, days=300, seed=9))
    data = panel.make_panel_data(p, 5, "rank", 0.2, 0.2, "alpha158")
    members = [{"architecture": "lstm", "settings": {"units": 8, "epochs": 1, "batch_size": 256}},
               {"architecture": "linear"}]  # fmt: skip
    family, model, _ = _fit(data, "rank_average", members=members)
    assert data.windows["train"].take(slice(0, 2)).shape == (2, 5, 158)  # five days of the 158 factors
    served = ranker.load(ranker.dump(ranker.Ranker("rank_average", model, data.transform, p.tickers)))
    scores = served.scores(p)
    test = data.windows["test"]
    np.testing.assert_allclose(scores[test.date, test.ticker], family.predict(model, test.take(slice(None))),
                               rtol=1e-6)  # fmt: skip
