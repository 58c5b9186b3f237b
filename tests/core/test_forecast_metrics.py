import numpy as np

from stockflow.ticker import baselines
from stockflow.ticker.forecast_metrics import diebold_mariano, forecast_metrics


def test_metrics_on_a_hand_worked_case():
    actual = np.array([101.0, 99.0, 102.0])
    close = np.array([100.0, 101.0, 99.0])
    forecast = np.array([102.0, 100.0, 98.0])
    m = forecast_metrics(actual, forecast, close)
    assert m["mae"] == (1 + 1 + 4) / 3
    assert np.isclose(m["rmse"], np.sqrt((1 + 1 + 16) / 3))
    # moves: up/up (right), down/down (right), down/up (wrong)
    assert np.isclose(m["direction_accuracy"], 2 / 3)


def test_persistence_has_no_direction_to_score():
    close = np.array([1.0, 2.0, 3.0])
    assert forecast_metrics(close + 1, baselines.persistence(close), close)["direction_accuracy"] is None


def test_sma_baseline_uses_the_window_up_to_the_decision_day():
    closes = np.arange(1.0, 11.0)
    assert baselines.sma(closes, np.array([4, 9]), 3).tolist() == [4.0, 9.0]


def test_diebold_mariano_prefers_the_better_forecast():
    rng = np.random.default_rng(0)
    actual = rng.normal(size=500)
    good, bad = actual + rng.normal(scale=0.1, size=500), actual + rng.normal(scale=1.0, size=500)
    stat, p = diebold_mariano(actual, good, bad)
    assert stat < 0 and p < 0.001
    stat, p = diebold_mariano(actual, good, good)
    assert np.isnan(stat)
