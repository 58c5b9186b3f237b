import numpy as np
import pandas as pd
import pytest

from stockflow.config import PreprocessParams
from stockflow.ticker.dataset import make_dataset, split_counts
from stockflow.ticker.features import FEATURES, build_features


def params(**kw) -> PreprocessParams:
    return PreprocessParams(**{"lookback": 10, **kw})


def test_split_is_chronological_and_covers_every_sample(small_prices):
    data = make_dataset(small_prices, params())
    sizes = data.sizes()
    assert sizes["test"] == round(sum(sizes.values()) * 0.2)
    assert data.dates["train"][-1] < data.dates["val"][0] < data.dates["val"][-1] < data.dates["test"][0]
    # The truth of the last test sample is the last close in the file.
    assert data.next_close["test"][-1] == small_prices["Close"].iloc[-1]


def test_target_is_the_next_close(small_prices):
    data = make_dataset(small_prices, params(target="price", scaler="minmax"))
    restored = data.transform.target_scaler.inverse_transform(data.y["test"].reshape(-1, 1))[:, 0]
    np.testing.assert_allclose(restored, data.next_close["test"], rtol=1e-5)


def test_log_return_target_turns_back_into_prices(small_prices):
    for target in ("log_return", "simple_return"):
        data = make_dataset(small_prices, params(target=target))
        prices = data.transform.to_price(data.y["test"], data.close["test"])
        np.testing.assert_allclose(prices, data.next_close["test"], rtol=1e-5)


@pytest.mark.parametrize("scaler", ["minmax", "standard"])
def test_scalers_never_see_validation_or_test_rows(small_prices, scaler):
    """Wrecking every row after the training part leaves the fitted scalers unchanged."""
    base = make_dataset(small_prices, params(scaler=scaler, features=("close", "log_return")))
    # The last training sample's truth is the close of the first validation day; nothing after it.
    cut = np.searchsorted(small_prices["Date"].to_numpy(), base.dates["val"][0])
    wrecked = small_prices.copy()
    wrecked.loc[cut + 1 :, ["Open", "High", "Low", "Close"]] *= 50.0
    other = make_dataset(wrecked, params(scaler=scaler, features=("close", "log_return")))
    for a, b in ((base.transform.feature_scaler, other.transform.feature_scaler),
                 (base.transform.target_scaler, other.transform.target_scaler)):  # fmt: skip
        np.testing.assert_array_equal(a.scale_, b.scale_)
        np.testing.assert_array_equal(
            a.transform(np.ones((1, a.n_features_in_))), b.transform(np.ones((1, b.n_features_in_)))
        )


@pytest.mark.parametrize("name", sorted(FEATURES))
def test_every_feature_is_causal(small_prices, name):
    """Changing data after day t changes no feature value up to day t."""
    t = 400
    changed = small_prices.copy()
    changed.loc[t + 1 :, ["Open", "High", "Low", "Close"]] *= 1.7
    changed.loc[t + 1 :, "Volume"] *= 3
    a = build_features(small_prices, [name]).iloc[: t + 1]
    b = build_features(changed, [name]).iloc[: t + 1]
    pd.testing.assert_frame_equal(a, b)


def test_windows_up_to_day_t_do_not_depend_on_later_days(small_prices):
    feats = ("close", "log_return", "rsi_14", "volatility_20")
    base = make_dataset(small_prices, params(features=feats))
    changed = small_prices.copy()
    last_train_day = np.searchsorted(small_prices["Date"].to_numpy(), base.dates["train"][-1])
    t = last_train_day + 30  # inside validation/test: after the scaler's rows
    changed.loc[t + 1 :, ["Open", "High", "Low", "Close"]] *= 0.5
    other = make_dataset(changed, params(features=feats))
    x_a = np.concatenate([base.x[s] for s in ("train", "val", "test")])
    x_b = np.concatenate([other.x[s] for s in ("train", "val", "test")])
    dates = np.concatenate([base.dates[s] for s in ("train", "val", "test")])
    upto = dates <= small_prices["Date"].iloc[t]
    np.testing.assert_array_equal(x_a[upto], x_b[upto])


def test_too_few_rows_is_a_clear_error(small_prices):
    with pytest.raises(ValueError, match="too few"):
        make_dataset(small_prices.iloc[:14], params())


def test_split_counts():
    assert split_counts(100, 0.2, 0.1) == (72, 8, 20)


def test_a_fold_restricts_samples_and_fixes_the_test_size(small_prices):
    full = make_dataset(small_prices, params())
    n = sum(full.sizes().values())
    fold = make_dataset(small_prices, params(), samples=slice(100, n - 50), n_test=60)
    assert fold.sizes()["test"] == 60
    assert fold.dates["train"][0] == full.dates["train"][100]
    assert fold.dates["test"][-1] == np.concatenate([full.dates[s] for s in ("train", "val", "test")])[n - 51]
