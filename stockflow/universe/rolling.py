"""A universe's retraining replayed over history: retrain every step on the years before it, predict the step after,
and judge the out-of-sample scores stitched end to end (`stockflow replay --universe NAME`).

Segment k tests on [start + k x step, start + (k+1) x step); its model is trained on every
sample date before the step before it (an expanding window) and stopped early on that step
(validation), with the usual gap of the label's length before each split. The features are
causal, so they are computed once for the whole history; the scaler, the model, the baselines
that learn (a ridge) and the portfolio's rules are fitted or chosen again in each segment, on
its own training and validation dates only. Nothing a segment decides reads a date of its test
step or later: a test shakes every later bar, and the segment's scores and rules do not move.

The stitched series is judged as one: the daily Rank IC of every scorer over all the test
days and per segment, and each scorer's portfolio traded segment by segment with the rules its
segment chose on validation, its daily returns joined, beside equal weight over the same days.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow.universe import portfolio, ranking
from stockflow.universe.panel import PanelData, Prepared, split, split_dates


@dataclass(frozen=True)
class Segment:
    """One retrain of the replay: validated on [val_start, test_start), tested on [test_start, test_end)."""

    val_start: pd.Timestamp
    test_start: pd.Timestamp
    test_end: pd.Timestamp  # exclusive

    @property
    def label(self) -> str:
        return f"{self.test_start.date()}..{(self.test_end - pd.Timedelta(days=1)).date()}"


def segments(dates: np.ndarray, start: str | pd.Timestamp, months: int, end: str | pd.Timestamp | None = None,
             ) -> list[Segment]:  # fmt: skip
    """The segments testing `months` at a time from `start` to `end` (default: past the last date), each
    validated on the `months` before it; ValueError when the dates leave no training before the first."""
    first, last = pd.Timestamp(dates[0]), pd.Timestamp(dates[-1])
    start = pd.Timestamp(start)
    stop = pd.Timestamp(end) if end is not None else last + pd.Timedelta(days=1)
    step = pd.DateOffset(months=months)
    if not first < start - step:
        raise ValueError(f"--start {start.date()}: its validation year begins {(start - step).date()}, leaving no "
                         f"training data before it (the data begin {first.date()})")  # fmt: skip
    if not start < min(stop, last):
        raise ValueError(f"--start {start.date()} must come before the last date ({last.date()}) and --end")
    out, t = [], start
    while t < stop and t <= last:
        out.append(Segment(t - step, t, min(t + step, stop)))
        t = t + step
    return out


def segment_days(p: Prepared, seg: Segment) -> dict[str, np.ndarray]:
    """The train, validation and test date indices of a segment (train: every sample date before validation)."""
    days = split_dates(p.ok, 0.2, 0.1, p.horizon, p.starts(seg.val_start, seg.test_start))
    test = days["test"]
    days["test"] = test[p.panel.dates[test] < np.datetime64(seg.test_end)]
    if not len(days["test"]):
        raise ValueError(f"segment {seg.label}: no sample date to test on")
    return days


def segment_data(p: Prepared, seg: Segment) -> PanelData:
    """The segment's panel: scaled on its training dates, its splits' samples."""
    return split(p, segment_days(p, seg))


def score_segment(data: PanelData, train_params: Any, ridge_samples: int) -> tuple[Any, dict[str, np.ndarray]]:
    """The model fitted on the segment's training dates, and every scorer's (T, N) values on its validation and
    test samples: the model's, the naive baselines' and a ridge's fitted on the same training dates."""
    model, predict = ranking.trained(data, train_params)
    scores = {
        "model": ranking.scored(data, predict),
        **ranking.naive(data),
        "ridge": ranking.ridge(data, ridge_samples, train_params.seed),
    }
    return model, scores


BEST_RULE = "model_best_rule"  # the model traded by its best rule on validation, whether or not it beat equal weight


def choose_rules(data: PanelData, scores: dict[str, np.ndarray], grid: Sequence[portfolio.Rules], objective: str,
                 min_information_ratio: float) -> dict[str, portfolio.Rules]:  # fmt: skip
    """Each scorer's portfolio rules, chosen on the segment's validation dates only (equal weight when none beat it
    there by the margin); and, as `BEST_RULE`, the model's best rule there whatever the margin said (what holding
    equal weight was spared, or missed)."""
    val, out = data.split_days["val"], {}
    for name, values in scores.items():
        out[name], table = portfolio.choose_on_validation(data.panel, values, val, grid, objective,
                                                          min_information_ratio)  # fmt: skip
        if name == "model":
            top = table.iloc[0]
            out[BEST_RULE] = portfolio.Rules(int(top["k"]), int(top["n"]), str(top["weighting"]),
                                             grid[0].commission, grid[0].slippage, int(top["every"]))  # fmt: skip
    return out


def scorer_of(rules_key: str) -> str:
    """The scorer whose scores a rules key trades."""
    return "model" if rules_key == BEST_RULE else rules_key


def stitch(shape: tuple[int, int], parts: Sequence[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """(T, N) one scorer's out-of-sample values: each segment's (test days, its (T, N) scores) on its own days."""
    out = np.full(shape, np.nan)
    for days, values in parts:
        out[days] = values[days]
    return out


def joined(parts: Sequence[portfolio.Traded]) -> portfolio.Traded:
    """The segments' portfolios end to end: their daily returns, turnover and costs joined (each segment opens its
    book on its first day, paying to buy it)."""
    cat = lambda key: pd.concat([getattr(t, key) for t in parts])  # noqa: E731
    returns, turnover, costs = cat("returns"), cat("turnover"), cat("costs")
    first = ~returns.index.duplicated(keep="first")
    returns, turnover, costs = returns[first], turnover[first], costs[first]
    return portfolio.Traded((1 + returns).cumprod(), returns, turnover, costs)


def judged(values: dict[str, np.ndarray], outcome: np.ndarray, dates: np.ndarray,
           segment_test_days: Sequence[np.ndarray], labels: Sequence[str]) -> tuple[dict, pd.DataFrame]:  # fmt: skip
    """Every scorer's stitched Rank IC and IC over all the test days and per segment; the daily table."""
    every_day = np.concatenate(segment_test_days)
    report: dict[str, Any] = {"all": {}, "segments": []}
    tables = []
    for name, v in values.items():
        ic = ranking.daily_ic(v, outcome, every_day, dates)
        report["all"][name] = ranking.scorecard(ic)
        tables.append(ic.assign(scorer=name))
    for label, days in zip(labels, segment_test_days, strict=True):
        row = {"segment": label}
        for name, v in values.items():
            card = ranking.scorecard(ranking.daily_ic(v, outcome, days, dates))["rank_ic"]
            row[name] = card["mean"]
            row[f"{name}_t"] = card["t_stat"]
        report["segments"].append(row)
    return report, pd.concat(tables, ignore_index=True)
