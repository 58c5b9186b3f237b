"""A universe's champion between retrains: does it still rank the next day's returns on the days it has met, and
does its portfolio still beat equal weight?

Its live days are the dates after the last bar it was trained with. On each, the daily Rank
IC of its scores with the next day's returns; over them, the mean, its t-statistic, and a
decay test: the one-sided CUSUM of `stockflow/champion/monitoring.py` on d = -Rank IC (a fall in
Rank IC is a rise in d), centred and calibrated on the champion's own test window
(`monitor.rank_ic_margin` is the fall it is tuned to catch, the false-alarm rate within
`horizon_days` set by the same block bootstrap). Beside it, the live portfolio (the weights
the registered model serves) against equal weight of the universe, net of the same costs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow.champion import monitoring
from stockflow.monitors.settings import MonitorParams
from stockflow.universe import portfolio, ranking
from stockflow.universe.panel import Panel


@dataclass(frozen=True)
class UniverseCheck:
    """One look at a universe's champion: its live days' Rank IC against its test window's, the decay test, the
    live portfolio against equal weight, the verdict."""

    live_days: int
    live_rank_ic: float | None
    live_rank_ic_t: float | None
    test_rank_ic: float
    decay: bool
    decay_day: str | None
    cusum: float
    threshold: float
    verdict: str  # ok | decayed | too few days
    live_excess: float | None  # the live portfolio's annual return over equal weight, net of costs
    live_information_ratio: float | None
    first_day: str | None
    last_day: str | None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def check(panel: Panel, scores: np.ndarray, weights: np.ndarray, test_days: np.ndarray, live: np.ndarray,
          p: MonitorParams, commission: float, slippage: float,
          horizon: int = 1) -> tuple[UniverseCheck, pd.DataFrame]:  # fmt: skip
    """The check from the champion's (T, N) scores and served weights on every date, its test window's date indices
    and its live ones (decisions after its last training bar that have a next day); and the live days' table. The
    scores are judged against what their label is (`Panel.outcome` over the champion's `horizon`)."""
    outcome = panel.outcome(horizon)
    test_ic = ranking.daily_ic(scores, outcome, test_days, panel.dates)
    live_ic = ranking.daily_ic(scores, outcome, live, panel.dates)
    # The CUSUM on d = -Rank IC, tuned to catch a fall of `rank_ic_margin` (in Rank IC units).
    tuned = p.model_copy(update={"decay_margin": p.rank_ic_margin})
    cal = monitoring.calibrate(-test_ic["rank_ic"].to_numpy(), tuned)
    decay = monitoring.decay_test(-live_ic["rank_ic"].to_numpy(), cal)
    n = len(live_ic)
    card = ranking.summary(live_ic["rank_ic"]) if n else None
    excess = ir = None
    if n >= 2:
        held = portfolio.simulate(panel, np.where(np.isnan(weights), np.nan, weights), live, commission, slippage)
        equal = portfolio.equal_weight(panel, live, commission, slippage)
        figures = portfolio.metrics(held, equal)
        excess, ir = figures["excess_return"], figures["information_ratio"]
    day = lambda i: str(pd.Timestamp(live_ic["date"].iloc[i]).date())  # noqa: E731
    result = UniverseCheck(
        live_days=n,
        live_rank_ic=None if card is None else card["mean"],
        live_rank_ic_t=None if card is None or card["t_stat"] != card["t_stat"] else card["t_stat"],
        test_rank_ic=ranking.summary(test_ic["rank_ic"])["mean"],
        decay=decay.alarmed,
        decay_day=day(decay.alarm_day) if decay.alarmed else None,
        cusum=float(decay.path[-1]) if n else 0.0,
        threshold=decay.threshold,
        verdict="too few days" if n < p.min_days else "decayed" if decay.alarmed else "ok",
        live_excess=excess,
        live_information_ratio=ir,
        first_day=day(0) if n else None,
        last_day=day(-1) if n else None,
    )
    trail = live_ic.assign(cum_rank_ic=live_ic["rank_ic"].expanding().mean(), cusum=decay.path)
    return result, trail
