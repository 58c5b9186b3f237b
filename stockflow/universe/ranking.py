"""Scores across a universe judged as the field judges them: each day's cross-sectional correlation with the next
day's returns (IC, and Rank IC on ranks), and the naive scores every model stands beside.

A day counts when at least `MIN_NAMES` tickers have both a score and a next-day return.
Over the days: the mean, its spread, ICIR (mean / spread), the t-statistic of the mean
(ICIR x sqrt(days)) and the share of days above zero.

Baselines, from closes up to the decision day only: short-term reversal (minus the
5-day return), 12-1 momentum (the return from 252 to 21 trading days back), and, built
where models are built, a ridge on the model's own windows and the model trained on
labels shuffled across tickers within each day (a control: several of them give the null band a model must
stand above; a network fitted to noise is not at zero but spread around it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from stockflow.universe.panel import Panel, PanelData

MIN_NAMES = 3


def daily_ic(scores: np.ndarray, outcome: np.ndarray, days: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    """Per date index in `days`: IC and Rank IC of the (T, N) `scores` with the (T, N) `outcome`, and how many
    names counted; days with fewer than MIN_NAMES are left out."""
    rows = []
    for t in days:
        ok = ~np.isnan(scores[t]) & ~np.isnan(outcome[t])
        if ok.sum() < MIN_NAMES:
            continue
        s, o = scores[t][ok], outcome[t][ok]
        ic = _corr(s, o)
        rank_ic = _corr(pd.Series(s).rank().to_numpy(), pd.Series(o).rank().to_numpy())
        rows.append((dates[t], ic, rank_ic, int(ok.sum())))
    return pd.DataFrame(rows, columns=["date", "ic", "rank_ic", "names"])


def _corr(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    den = np.sqrt((a * a).sum() * (b * b).sum())
    return float((a * b).sum() / den) if den > 0 else 0.0


def summary(series: pd.Series) -> dict[str, Any]:
    """Mean, std, ICIR, t-statistic, share of positive days and days of a daily IC series."""
    x = series.dropna().to_numpy(dtype=float)
    n = len(x)
    mean = float(x.mean()) if n else float("nan")
    std = float(x.std(ddof=1)) if n > 1 else float("nan")
    icir = mean / std if n > 1 and std > 0 else float("nan")
    return {"mean": mean, "std": std, "icir": icir, "t_stat": icir * np.sqrt(n) if n > 1 else float("nan"),
            "positive": float((x > 0).mean()) if n else float("nan"), "days": n}  # fmt: skip


def scorecard(ic: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """The summary of a daily IC table's IC and Rank IC."""
    return {"ic": summary(ic["ic"]), "rank_ic": summary(ic["rank_ic"])}


def reversal(panel: Panel) -> np.ndarray:
    """Short-term reversal: minus each ticker's log return over its last 5 panel dates (NaN across a gap)."""
    r = pd.DataFrame(panel.returns())
    return -r.rolling(5, min_periods=5).sum().to_numpy()


def momentum(panel: Panel, long: int = 252, skip: int = 21) -> np.ndarray:
    """12-1 momentum: the log return from `long` to `skip` panel dates back (the last month left out)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.log(panel.close)
    frame = pd.DataFrame(logs)
    return (frame.shift(skip) - frame.shift(long)).to_numpy()


def shuffled_within_days(y: np.ndarray, seed: int) -> np.ndarray:
    """The labels permuted across tickers within each day (NaNs stay where they are): no signal left to learn."""
    rng = np.random.default_rng(seed)
    out = y.copy()
    for t in range(len(y)):
        ok = np.flatnonzero(~np.isnan(y[t]))
        out[t, ok] = y[t, rng.permutation(ok)]
    return out


def scores_frame(values: np.ndarray, date: np.ndarray, ticker: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """(T, N) scores from one value per (date, ticker) sample; NaN where there is no sample."""
    out = np.full(shape, np.nan)
    out[date, ticker] = values
    return out


SCORED_SPLITS = ("val", "test")  # where scorers are judged; training samples are never scored
SCORE_CHUNK = 65_536  # windows gathered and scored at a time


def scored(data: PanelData, predict: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """(T, N) a scorer's values on the validation and test samples, NaN elsewhere."""
    out = np.full(data.panel.close.shape, np.nan)
    for split in SCORED_SPLITS:
        w = data.windows[split]
        for start in range(0, len(w), SCORE_CHUNK):
            part = slice(start, start + SCORE_CHUNK)
            out[w.date[part], w.ticker[part]] = predict(w.take(part))
    return out


def samples_mask(data: PanelData) -> np.ndarray:
    """(T, N) True on the validation and test samples: every scorer is judged on the same cells."""
    mask = np.zeros(data.panel.close.shape, dtype=bool)
    for split in SCORED_SPLITS:
        w = data.windows[split]
        mask[w.date, w.ticker] = True
    return mask


def fit(family: Any, data: PanelData, params: Any, on_epoch: Callable | None = None) -> tuple[Any, Any]:
    """`family` fitted on `data`'s training windows, early-stopped on its validation windows: the model, its history
    (every fit of a universe's model: its training stage, its evaluation's seeds and control, a study's trials, a
    replay's segments)."""
    return family.fit_windows(data.windows["train"], data.labels_of("train"), data.windows["val"],
                              data.labels_of("val"), params, on_epoch)  # fmt: skip


def trained(data: PanelData, params: Any) -> tuple[Any, Callable[[np.ndarray], np.ndarray]]:
    """The family of `params.architecture` fitted on `data` (`fit`): the model, and its predict."""
    from stockflow import models

    family = models.family(params.architecture)
    model, _ = fit(family, data, params)
    return model, lambda windows: family.predict(model, windows)


def ridge(data: PanelData, samples: int, seed: int) -> np.ndarray:
    """A ridge regression on the model's own (flattened) windows, fitted on up to `samples` training windows."""
    from sklearn.linear_model import Ridge

    train = data.windows["train"]
    which = np.sort(np.random.default_rng(seed).choice(len(train), min(samples, len(train)), replace=False))
    x = train.take(which).reshape(len(which), -1)
    model = Ridge(alpha=1.0).fit(x, data.y[train.date[which], train.ticker[which]])
    return scored(data, lambda w: model.predict(w.reshape(len(w), -1)))


def naive(data: PanelData) -> dict[str, np.ndarray]:
    """The baselines that learn nothing (reversal, momentum) on the same samples as the model."""
    on = samples_mask(data)
    return {
        "reversal": np.where(on, reversal(data.panel), np.nan),
        "momentum": np.where(on, momentum(data.panel), np.nan),
    }
