"""Naive and classical forecasts of the next close, fitted on the training samples only.

Every model metric stands beside these on the same test days.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from stockflow.ticker.dataset import Dataset


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


def ladder(
    data: Dataset, closes: np.ndarray, rows: dict[str, np.ndarray], sma_window: int
) -> dict[str, dict[str, np.ndarray]]:
    """Every baseline's next-close forecasts for each split in `rows` (split -> row in `closes` of each sample).

    Ridge and SVR (the paper's section 2.2) learn on the same scaled windows the
    network sees, fitted once on the training samples; SVR on the latest 3,000.
    """
    from sklearn.linear_model import Ridge
    from sklearn.svm import SVR

    x, y = _flat(data.x["train"]), data.y["train"]
    learnt = {"ridge": Ridge(alpha=1.0).fit(x, y), "svr": SVR(C=1.0, epsilon=0.01).fit(x[-3000:], y[-3000:])}
    out = {}
    for split, idx in rows.items():
        close = data.close[split]
        out[split] = {
            "persistence": persistence(close),
            "drift": drift(close, data.close["train"], data.next_close["train"]),
            "sma": sma(closes, idx, sma_window),
            **{name: data.transform.to_price(m.predict(_flat(data.x[split])), close) for name, m in learnt.items()},
        }
    return out
