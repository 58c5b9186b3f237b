"""Naive and classical forecasts of the next close, fitted on the training samples only.

Every model metric stands beside these on the same test days.
"""

from __future__ import annotations

import numpy as np


def persistence(close_today: np.ndarray) -> np.ndarray:
    """Tomorrow's close = today's close."""
    return np.asarray(close_today, dtype=float)


def drift(close_today: np.ndarray, train_close: np.ndarray, train_next: np.ndarray) -> np.ndarray:
    """Today's close grown by the mean daily log return seen in training."""
    mean_log_return = float(np.mean(np.log(np.asarray(train_next) / np.asarray(train_close))))
    return np.asarray(close_today, dtype=float) * np.exp(mean_log_return)


def sma(close_series: np.ndarray, decision_index: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` closes up to and including the decision day."""
    close_series = np.asarray(close_series, dtype=float)
    cumsum = np.concatenate([[0.0], np.cumsum(close_series)])
    hi = np.asarray(decision_index) + 1
    lo = np.maximum(hi - window, 0)
    return (cumsum[hi] - cumsum[lo]) / (hi - lo)


def _flat(x: np.ndarray) -> np.ndarray:
    return x.reshape(len(x), -1)


def ridge(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, alpha: float = 1.0) -> np.ndarray:
    """Ridge regression on the same scaled windows the network sees (scaled target out)."""
    from sklearn.linear_model import Ridge

    return Ridge(alpha=alpha).fit(_flat(x_train), y_train).predict(_flat(x_test))


def svr(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, max_samples: int = 3000) -> np.ndarray:
    """Support vector regression (the paper's section 2.2), RBF kernel, on the latest training windows."""
    from sklearn.svm import SVR

    x_fit, y_fit = _flat(x_train)[-max_samples:], y_train[-max_samples:]
    return SVR(C=1.0, epsilon=0.01).fit(x_fit, y_fit).predict(_flat(x_test))
