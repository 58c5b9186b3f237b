"""Nothing chosen or calibrated on an earlier window moves when a later window changes, however wildly.

Each function that wires a step to its window is run twice: once as is, once with every bar and forecast after
its window replaced by something wild. What it chose (a threshold and stops, a sizing target, an interval's
width, a decay test's threshold) must not move; and, the other way, changing the earlier window must move it,
so that the test can fail.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow import strategies
from stockflow.champion import monitoring
from stockflow.config import BacktestParams, MonitorParams, OptimiseParams, PreprocessParams
from stockflow.ticker import evaluation
from stockflow.ticker.dataset import make_dataset
from stockflow.trading import sizing
from stockflow.trading.optimise import trading_window, tune_and_trade
from tests.core.test_intervals import garch_prices

PARAMS = BacktestParams(optimise=OptimiseParams(thresholds=(0.0, 0.002), stop_losses=(None, 0.02),
                                                take_profits=(None, 0.05)))  # fmt: skip
PRICE_COLUMNS = ["Open", "High", "Low", "Close"]


def forecasts(prices: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """A noisy forecaster's next closes for every day that has a next bar, with an interval around them."""
    close = prices["Close"].to_numpy()
    noise = np.random.default_rng(seed).normal(0, 0.004, len(close) - 1)
    forecast = close[:-1] * np.exp(noise)
    return pd.DataFrame({"date": prices["Date"].iloc[:-1].to_numpy(), "target_date": prices["Date"].iloc[1:].to_numpy(),
                         "close": close[:-1], "actual": close[1:], "forecast": forecast,
                         "lower": forecast * 0.98, "upper": forecast * 1.02})  # fmt: skip


def wild(prices: pd.DataFrame, pred: pd.DataFrame, after: pd.Timestamp, seed: int = 1):
    """Prices and forecasts with every bar after `after` (and every forecast about one) shaken wildly."""
    rng = np.random.default_rng(seed)
    prices, pred = prices.copy(), pred.copy()
    later = prices["Date"] > after
    factor = np.exp(np.cumsum(rng.normal(0, 0.05, int(later.sum()))))  # a crash and a bubble
    prices.loc[later, PRICE_COLUMNS] = prices.loc[later, PRICE_COLUMNS].mul(factor, axis=0).to_numpy()
    close = dict(zip(prices["Date"], prices["Close"], strict=True))
    about = pred["target_date"] > after
    pred.loc[about, "actual"] = pred.loc[about, "target_date"].map(close)
    pred.loc[about & (pred["date"] > after), "close"] = pred.loc[about & (pred["date"] > after), "date"].map(close)
    pred.loc[about, "forecast"] = pred.loc[about, "close"] * np.exp(rng.normal(0, 0.08, int(about.sum())))
    pred.loc[about, "lower"], pred.loc[about, "upper"] = pred["forecast"] * 0.5, pred["forecast"] * 1.5
    return prices, pred


@pytest.fixture(scope="module")
def market():
    prices = garch_prices(900, seed=3)
    pred = forecasts(prices)
    split = np.where(np.arange(len(pred)) < 500, "train", np.where(np.arange(len(pred)) < 700, "val", "test"))
    return prices, pred.assign(split=split)


def last_of(pred: pd.DataFrame, split: str) -> pd.Timestamp:
    """The last bar a window's forecasts are about: its last decision's next day, which closes its trading too."""
    return pred.loc[pred["split"] == split, "target_date"].max()


def windows_of(prices, pred):
    return (trading_window(prices, pred[pred["split"] == "val"]),
            trading_window(prices, pred[pred["split"] == "test"]))  # fmt: skip


def test_the_strategy_search_chooses_on_the_validation_window_only(market):
    prices, pred = market
    report, grid, _ = tune_and_trade(*windows_of(prices, pred), PARAMS)
    shaken = wild(prices, pred, last_of(pred, "val"))
    again, grid_again, _ = tune_and_trade(*windows_of(*shaken), PARAMS)
    assert again["chosen"] == report["chosen"] and again["validation"] == report["validation"]
    pd.testing.assert_frame_equal(grid_again, grid)
    assert again["test"] != report["test"]  # the test window did change, and was traded with the same choice
    earlier = wild(prices, pred, last_of(pred, "train"))
    assert tune_and_trade(*windows_of(*earlier), PARAMS)[0]["validation"] != report["validation"]


def test_the_sizing_target_is_chosen_on_the_validation_window_only(market):
    prices, pred = market
    report, _ = sizing.tune_and_trade(*windows_of(prices, pred), PARAMS)
    again, _ = sizing.tune_and_trade(*windows_of(*wild(prices, pred, last_of(pred, "val"))), PARAMS)
    assert again["target"] == report["target"] and again["validation"] == report["validation"]
    assert again["test"] != report["test"]
    earlier, _ = sizing.tune_and_trade(*windows_of(*wild(prices, pred, last_of(pred, "train"))), PARAMS)
    assert earlier["validation"] != report["validation"]


def test_a_runs_strategies_are_chosen_on_validation_and_traded_once_on_test(market):
    prices, pred = market
    report = strategies.trade_forecasts(prices, pred, PARAMS).metrics
    again = strategies.trade_forecasts(*wild(prices, pred, last_of(pred, "val")), PARAMS).metrics
    for name in ("optimised", "sized"):
        assert again[name]["validation"] == report[name]["validation"], name
        assert again[name]["test"] != report[name]["test"], name
    assert again["optimised"]["chosen"] == report["optimised"]["chosen"]
    assert again["sized"]["target"] == report["sized"]["target"]
    earlier = strategies.trade_forecasts(*wild(prices, pred, last_of(pred, "train")), PARAMS).metrics
    assert earlier["optimised"]["validation"] != report["optimised"]["validation"]


def test_the_interval_is_fitted_on_training_and_calibrated_on_validation_only():
    prices = garch_prices(900, seed=4)
    data = make_dataset(prices, PreprocessParams(lookback=5, test_fraction=0.25, val_fraction=0.25))
    days = {split: pd.to_datetime(data.dates[split]) for split in ("train", "val", "test")}
    pred = forecasts(prices)
    pred["split"] = np.select([pred["date"].isin(days[s]) for s in days], list(days), "none")
    pred = pred[pred["split"] != "none"].reset_index(drop=True)
    interval = evaluation.calibrate_interval(data, prices, pred, 0.9)
    shaken_prices, shaken = wild(prices, pred, last_of(pred, "val"))
    assert evaluation.calibrate_interval(data, shaken_prices, shaken, 0.9) == interval
    # Validation days missed more widely: a wider interval. Training bars changed: another volatility model.
    wider = pred.assign(forecast=np.where(pred["split"] == "val", pred["forecast"] * 1.01, pred["forecast"]))
    assert evaluation.calibrate_interval(data, prices, wider, 0.9).q > interval.q
    earlier_prices, earlier = wild(prices, pred, days["train"].min() + pd.Timedelta(days=30))
    assert evaluation.calibrate_interval(data, earlier_prices, earlier, 0.9).volatility != interval.volatility


def test_the_decay_threshold_is_set_on_the_test_window_only():
    prices = garch_prices(900, seed=5)
    pred = forecasts(prices)
    days = monitoring.day_frame(prices, pred[["date", "forecast"]])
    windows = {"train": (days["date"].iloc[30], days["date"].iloc[400]),
               "test": (days["date"].iloc[401], days["date"].iloc[699])}  # fmt: skip
    through = days["date"].iloc[700]
    p = MonitorParams(bootstrap_samples=100)
    check, _ = monitoring.check(days, monitoring.model_inputs(prices), windows, through, p)
    shaken_prices, shaken = wild(prices, pred, through)
    live = monitoring.day_frame(shaken_prices, shaken[["date", "forecast"]])
    again, _ = monitoring.check(live, monitoring.model_inputs(shaken_prices), windows, through, p)
    assert (again.figures["threshold"], again.test_mae_ratio) == (check.figures["threshold"], check.test_mae_ratio)
    assert again.live_mae_ratio != check.live_mae_ratio  # the live days did change
    test_changed = days.assign(forecast=np.where(days["date"] <= windows["test"][1], days["forecast"] * 1.002,
                                                 days["forecast"]))  # fmt: skip
    moved, _ = monitoring.check(test_changed, monitoring.model_inputs(prices), windows, through, p)
    assert moved.figures["threshold"] != check.figures["threshold"]
