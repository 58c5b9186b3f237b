"""The monitor's statistics: each asks one question of a champion on its live days.

A statistic is one module here that defines `STATISTIC`, an object with a `name` (as
params.yaml's `monitor.statistics` lists it), the `verdict` it gives when it fires
(`decayed`, `miscovered`, `drifted`), and `check(context)`, which gives a `Finding`: its
figures (the keys of `stockflow monitor --json`), its MLflow metrics and per-day series,
its lines of the check's text, whether it calls for an alarm and why. The check's
verdict is the first statistic in `monitor.statistics` that fired; its alarm is the
Prefect event `stockflow.champion.<verdict>`, which the retrain deployment answers
(`prefect.yaml` expects `stockflow.champion.*`). So adding a statistic changes no other
module: the report, the record, the text and the alarm follow from what it declares.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from stockflow import plugins
from stockflow.monitors.settings import MonitorParams


@dataclass(frozen=True)
class Context:
    """What a statistic may look at: the champion's days, its windows, its inputs, its interval's level."""

    days: pd.DataFrame  # every decision day with a next bar: date, target_date, close, actual, forecast, scale (...)
    test: pd.DataFrame  # the days of its test window, where the gate judged it
    live: pd.DataFrame  # the days whose target lies after the last bar it was trained with
    inputs: pd.DataFrame  # the watched inputs of every bar (`monitoring.model_inputs`)
    windows: dict[str, tuple[pd.Timestamp, pd.Timestamp]]  # its train and test windows (first, last decision day)
    data_through: pd.Timestamp
    level: float | None  # its interval's level; None when it gives no interval
    params: MonitorParams


@dataclass(frozen=True)
class Finding:
    """What a statistic found: whether its verdict holds, and everything the report, the record and the alarm say."""

    fired: bool
    alarms: bool = True  # when its verdict is the check's: whether that calls for an alarm (drift: a wilder market)
    figures: dict[str, Any] = field(default_factory=dict)  # keys of the check's report
    metrics: dict[str, float] = field(default_factory=dict)  # the monitor run's metrics
    series: dict[str, np.ndarray] = field(default_factory=dict)  # per live day: the run's stepped metrics
    columns: dict[str, np.ndarray] = field(default_factory=dict)  # per live day: columns of live_days.csv
    lines: tuple[str, ...] = ()  # its lines of the check's text
    reason: str = ""  # the alarm's reason, in a line
    no_alarm: str = ""  # the line that says why, when its verdict is the check's and it does not alarm


class Statistic(Protocol):
    name: str
    verdict: str
    once: bool  # alarms once per champion (then a retrain the gate judged has answered it), not after a cool-down

    def check(self, ctx: Context) -> Finding:
        """Its finding on the champion's live days."""


@functools.cache
def _statistics() -> dict[str, Statistic]:
    return plugins.discover(__name__, __path__, "STATISTIC", "name")


def names() -> tuple[str, ...]:
    return tuple(sorted(_statistics()))


def statistic(name: str) -> Statistic:
    """The statistic of that name; ValueError naming the choices when there is none."""
    return plugins.chosen(_statistics(), name, "monitor statistic")


def by_verdict(verdict: str) -> Statistic | None:
    return next((s for s in _statistics().values() if s.verdict == verdict), None)
