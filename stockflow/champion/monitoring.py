"""Is the champion still better than persistence on the days it has met, and do its inputs still look familiar?

Pure statistics on frames of days; `tasks/commands/monitor.py` reads the registry and the
data and records the check, `stockflow/champion/policies.py` replays the same tests over
history.

**Live days.** The champion was trained on a price file whose last bar is
`data_through`. Its live forecasts are the ones it makes at the close of
`data_through` and of every later bar, each about the next bar: targets it
could not have seen.

**Decay: a one-sided CUSUM on the loss differential against persistence.**
Each day's differential is d_t = |e_model| - |e_persistence|, divided by the
average absolute daily move of the 20 days before (known at the decision), so
that a calm and a wild month weigh alike: its mean is about "MAE ratio - 1".
The test window (where the gate judged the champion) gives the in-control mean
and spread of d; the reference k is half the shift to catch
(`monitor.decay_margin`, in MAE-ratio units); the threshold h is the
(1 - `false_alarm_rate`) quantile of the CUSUM's maximum over `horizon_days` on
circular-block bootstrap resamples of the test window's own differentials, so
"no decay" raises a false alarm within the horizon with that probability.
A CUSUM and not a rolling Diebold-Mariano: it is a sequential test, built for
"has the mean shifted since a known start", it says on which day, and it does not
spend a p-value every day (a daily rolling test at 5% raises false alarms at
roughly that rate per window).

**Drift: the model's inputs, live against the training window**: daily log
returns and 20-day volatility, by the population stability index (the effect
size) *and* the two-sample Kolmogorov-Smirnov test. A feature has drifted only
when its PSI reaches `psi_threshold` and the KS p-value is below `ks_alpha`:
with thousands of reference rows every small difference is "significant", and
with a few live days a large PSI can be noise. Price levels are not inputs
that can drift meaningfully (they always leave their training range).
Drift is reported either way, but it raises an alarm only when it goes against
the champion: the live market *wilder* than the one it learnt (returns more
dispersed, volatility higher). A calmer market than training asks nothing of it
(the 2013-2014 calm after a model trained through 2012: reported, no alarm); a
wilder one is where a forecaster meets what it never saw (2008 after a model
trained on 2003-2007: alarm). Drift that comes with a worse forecast or an
interval that stopped covering alarms as `decayed` or `miscovered` anyway.

**Coverage: the champion's interval on its live days**, by Kupiec's
proportion-of-failures test: is the share of live days outside the interval
compatible with 1 - level? The interval has *stopped covering* (`miscovered`) when it
misses more often than that and the test's p-value is below `coverage_alpha`. Intervals
that miss too rarely are too wide, which costs nothing but information: reported, never
an alarm. The test reads all live days since the champion was trained, as the live MAE
ratio does; a p-value re-read every day is looked at many times, so the level is strict
(0.01 by default) and the `min_days` rule holds here too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow.monitors import Context, Finding, by_verdict, statistic
from stockflow.monitors.settings import MonitorParams
from stockflow.ticker.features import build_features
from stockflow.ticker.forecast_metrics import diebold_mariano, mae_ratio
from stockflow.ticker.intervals import kupiec
from stockflow.trading.backtest import Rules, buy_and_hold, run_backtest
from stockflow.trading.optimise import trading_window
from stockflow.trading.performance import strategy_metrics
from stockflow.trading.settings import BacktestParams

DRIFT_INPUTS = ("log_return", "volatility_20")
# What "wilder than training" means for each watched input: returns more dispersed, volatility higher.
WILDNESS = {"log_return": np.std, "volatility_20": np.median}
SCALE_DAYS = 20  # the trailing window of absolute daily moves that scales the loss differential
BOUNDS = ("lower", "upper")


# --- the days --------------------------------------------------------------------------------------------------


def day_frame(prices: pd.DataFrame, forecasts: pd.DataFrame) -> pd.DataFrame:
    """Every decision day that has a next bar: date, target_date, close, actual, forecast, scale.

    `forecasts` has one row per day the model could forecast (`date`, `forecast`), as the
    registered model's `predict` or `Forecaster.forecast` return it. `scale` is the mean
    absolute close-to-close move of the `SCALE_DAYS` days up to the decision day.
    """
    p = prices.reset_index(drop=True)
    close = p["Close"].astype(float)
    frame = pd.DataFrame(
        {
            "date": p["Date"],
            "target_date": p["Date"].shift(-1),
            "close": close,
            "actual": close.shift(-1),
            "scale": close.diff().abs().rolling(SCALE_DAYS).mean(),
        }
    )
    kept = ["date", "forecast", *(c for c in BOUNDS if c in forecasts)]  # an interval, when the model gives one
    frame = frame.merge(forecasts[kept], on="date", how="inner")
    return frame.dropna(subset=["target_date", "actual", "scale", "forecast"]).reset_index(drop=True)


def live_days(days: pd.DataFrame, data_through: pd.Timestamp) -> pd.DataFrame:
    """The days whose target lies after `data_through`, the last bar the model was trained with."""
    return days[days["target_date"] > pd.Timestamp(data_through)].reset_index(drop=True)


def window(days: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
    """The decision days from `start` to `end`, both included (a test window as the gate saw it)."""
    return days[(days["date"] >= pd.Timestamp(start)) & (days["date"] <= pd.Timestamp(end))].reset_index(drop=True)


def loss_differential(days: pd.DataFrame) -> np.ndarray:
    """Scaled |e_model| - |e_persistence| per day: negative where the model beat persistence."""
    model = (days["forecast"] - days["actual"]).abs()
    persistence = (days["close"] - days["actual"]).abs()
    return ((model - persistence) / days["scale"]).to_numpy(dtype=float)


# --- decay ----------------------------------------------------------------------------------------------------


def cusum(z: np.ndarray, k: float) -> np.ndarray:
    """One-sided upper CUSUM: S_t = max(0, S_{t-1} + z_t - k), S_0 = 0; one value per element of `z`.

    `z` may be 2-D (paths in rows): each row is run on its own.
    """
    z = np.asarray(z, dtype=float)
    s = np.zeros(z.shape[:-1])
    out = np.empty_like(z)
    for t in range(z.shape[-1]):
        s = np.maximum(0.0, s + z[..., t] - k)
        out[..., t] = s
    return out


def circular_blocks(n: int, length: int, block: int, samples: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of a circular block bootstrap (Politis and Romano): `samples` rows of `length`, made of blocks of
    `block` consecutive indices from random starts, wrapping past the end of the `n` observations.

    The same draw as `arch.bootstrap.CircularBlockBootstrap` (tested against it), vectorised: importing
    arch costs a second, a third of a whole `stockflow monitor`.
    """
    blocks = -(-length // block)
    starts = rng.integers(0, n, size=(samples, blocks, 1))
    return ((starts + np.arange(block)) % n).reshape(samples, blocks * block)[:, :length]


@dataclass(frozen=True)
class Calibration:
    """The CUSUM's in-control reference, learnt on the champion's test window."""

    mean: float  # mean scaled loss differential where the gate judged the champion
    std: float
    k: float  # reference value, in standard deviations
    h: float  # alarm threshold, in standard deviations
    days: int  # test-window days it was learnt on

    def standardise(self, d: np.ndarray) -> np.ndarray:
        return (np.asarray(d, dtype=float) - self.mean) / self.std


def calibrate_on(test: pd.DataFrame, p: MonitorParams) -> Calibration:
    """The decay test's one calibration: on the champion's test-window days (a `day_frame` window), never its live
    ones; what `stockflow monitor` and the replayed policies both use."""
    return calibrate(loss_differential(test), p)


def calibrate(test_d: np.ndarray, p: MonitorParams) -> Calibration:
    """Reference and threshold from the test window's loss differentials (see the module's docstring).

    Each bootstrap replication redraws a test window (whose mean and spread the CUSUM would
    have been centred on) and, independently, a live path of `horizon_days`: the threshold
    then covers the error in the estimated in-control mean too, which on a thousand noisy
    days is of the order of the shift the test is looking for.
    """
    d = np.asarray(test_d, dtype=float)
    d = d[np.isfinite(d)]
    if len(d) < 2 * p.block_days:
        raise ValueError(f"a test window of {len(d)} days is too short to calibrate the decay test")
    mean, std = float(np.mean(d)), float(np.std(d, ddof=1))
    std = std if std > 0 else 1e-12
    horizon = min(p.horizon_days, len(d))
    rng = np.random.default_rng(p.bootstrap_seed)
    windows = d[circular_blocks(len(d), len(d), p.block_days, p.bootstrap_samples, rng)]
    paths = d[circular_blocks(len(d), horizon, p.block_days, p.bootstrap_samples, rng)]
    centre, spread = windows.mean(axis=1, keepdims=True), windows.std(axis=1, ddof=1, keepdims=True)
    spread = np.where(spread > 0, spread, 1e-12)
    k = p.decay_margin / std / 2.0
    maxima = cusum((paths - centre) / spread, k).max(axis=1)
    return Calibration(mean, std, float(k), float(np.quantile(maxima, 1.0 - p.false_alarm_rate)), len(d))


@dataclass(frozen=True)
class Decay:
    """The CUSUM over the live days: its path, its threshold, and the first day it crossed (if any)."""

    path: np.ndarray
    threshold: float
    alarm_day: int | None  # index into the live days

    @property
    def alarmed(self) -> bool:
        return self.alarm_day is not None


def decay_test(live_d: np.ndarray, cal: Calibration) -> Decay:
    """Run the calibrated CUSUM over the live days' loss differentials."""
    path = cusum(cal.standardise(live_d), cal.k) if len(live_d) else np.zeros(0)
    crossed = np.flatnonzero(path > cal.h)
    return Decay(path, cal.h, int(crossed[0]) if len(crossed) else None)


# --- drift ----------------------------------------------------------------------------------------------------


def psi(reference: np.ndarray, live: np.ndarray, bins: int = 10, floor: float = 1e-4) -> float:
    """Population stability index of `live` against `reference`, on the reference's quantile bins.

    sum((live% - ref%) * ln(live% / ref%)); shares are floored at `floor` so an empty bin counts, finitely.
    Rules of thumb: below 0.1 stable, 0.1-0.25 a moderate shift, above 0.25 a large one.
    """
    reference, live = np.asarray(reference, float), np.asarray(live, float)
    inner = np.unique(np.quantile(reference, np.linspace(0, 1, bins + 1)[1:-1]))
    edges = np.concatenate([[-np.inf], inner, [np.inf]])
    ref = np.maximum(np.histogram(reference, edges)[0] / len(reference), floor)
    now = np.maximum(np.histogram(live, edges)[0] / len(live), floor)
    return float(np.sum((now - ref) * np.log(now / ref)))


def model_inputs(prices: pd.DataFrame) -> pd.DataFrame:
    """The inputs whose distribution is watched, one row per bar (warm-up rows NaN), with the bar's date."""
    return build_features(prices.reset_index(drop=True), DRIFT_INPUTS).assign(date=prices["Date"].to_numpy())


def input_windows(inputs: pd.DataFrame, train: tuple, data_through: pd.Timestamp, last: int) -> tuple:
    """The inputs on the training window's bars, and on the `last` live bars (after `data_through`)."""
    reference = inputs[(inputs["date"] >= pd.Timestamp(train[0])) & (inputs["date"] <= pd.Timestamp(train[1]))]
    return reference, inputs[inputs["date"] > pd.Timestamp(data_through)].tail(last)


def drift_test(reference: pd.DataFrame, live: pd.DataFrame, p: MonitorParams) -> dict[str, dict[str, Any]]:
    """Per watched input: KS statistic and p-value, PSI, whether it drifted (PSI >= threshold and KS p < alpha),
    and whether the live days are wilder than training (`WILDNESS`)."""
    from scipy import stats

    out = {}
    for name in DRIFT_INPUTS:
        ref, now = reference[name].dropna().to_numpy(), live[name].dropna().to_numpy()
        if len(ref) < 2 or len(now) < 2:
            out[name] = {"ks_stat": float("nan"), "ks_pvalue": float("nan"), "psi": float("nan"), "drifted": False,
                         "wilder": False}  # fmt: skip
            continue
        ks = stats.ks_2samp(ref, now, method="asymp")  # "exact" on thousands of rows takes seconds
        index = psi(ref, now)
        out[name] = {
            "ks_stat": float(ks.statistic),
            "ks_pvalue": float(ks.pvalue),
            "psi": index,
            "drifted": bool(index >= p.psi_threshold and ks.pvalue < p.ks_alpha),
            "wilder": bool(WILDNESS[name](now) > WILDNESS[name](ref)),
        }
    return out


def adverse_drift(drifts: dict[str, dict[str, Any]]) -> bool:
    """Whether an input drifted toward a wilder market than training: the drift that raises an alarm."""
    return any(v["drifted"] and v["wilder"] for v in drifts.values())


def coverage_test(days: pd.DataFrame, level: float, alpha: float) -> dict[str, Any]:
    """Live coverage of the interval, Kupiec's p-value, and whether it misses significantly too often."""
    known = days.dropna(subset=list(BOUNDS))
    inside = (known["actual"] >= known["lower"]) & (known["actual"] <= known["upper"])
    n, misses = len(known), int((~inside).sum())
    if n == 0:
        return {"live_coverage": None, "coverage_pvalue": None, "miscovered": False}
    _, p = kupiec(misses, n, level)
    return {"live_coverage": float(inside.mean()), "coverage_pvalue": p,
            "miscovered": bool(misses / n > 1 - level and p < alpha)}  # fmt: skip


# --- the check ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Check:
    """One look at a champion: its live days against persistence, each statistic's finding, the verdict."""

    live_days: int
    live_mae_ratio: float | None
    test_mae_ratio: float
    live_mae: float | None
    persistence_mae: float | None
    verdict: str
    findings: dict[str, Finding]  # by statistic, in the order `monitor.statistics` lists them
    live_dm_stat: float | None = None
    live_dm_pvalue: float | None = None
    first_day: str | None = None
    last_day: str | None = None

    @property
    def decided_by(self) -> Finding | None:
        """The finding whose verdict is the check's (None for `ok` and `too few days`)."""
        statistic = by_verdict(self.verdict)
        return None if statistic is None else self.findings.get(statistic.name)

    @property
    def figures(self) -> dict[str, Any]:
        """Every figure, flat: the live days' and each statistic's (the keys of `stockflow monitor --json`)."""
        base = {k: getattr(self, k) for k in ("live_days", "live_mae_ratio", "test_mae_ratio", "live_mae",
                                              "persistence_mae", "verdict", "live_dm_stat", "live_dm_pvalue",
                                              "first_day", "last_day")}  # fmt: skip
        for finding in self.findings.values():
            base |= finding.figures
        return base


def verdict(live: int, decay: bool, drift: bool, min_days: int, miscovered: bool = False) -> str:
    """`too few days` below `min_days`; else `decayed`, then `miscovered`, then `drifted`: a worse forecast
    outranks an interval that stopped covering, which outranks odd inputs (the order of `monitor.statistics`)."""
    if live < min_days:
        return "too few days"
    return "decayed" if decay else "miscovered" if miscovered else "drifted" if drift else "ok"


def check(days: pd.DataFrame, inputs: pd.DataFrame, windows: dict[str, tuple], data_through: pd.Timestamp,
          p: MonitorParams, level: float | None = None) -> tuple[Check, pd.DataFrame]:  # fmt: skip
    """The champion's check from its forecasts for every day (`day_frame`) and the inputs of every bar: each
    statistic of `p.statistics` (`stockflow/monitors/`) asked in turn.

    `windows` holds its `train` and `test` windows as (first, last) decision days; `level` is its interval's
    (None: no interval). Returns the check and the live days with each statistic's columns per day, and the
    cumulative MAE ratio and error against persistence.
    """
    test, live = window(days, *windows["test"]), live_days(days, data_through)
    ctx = Context(days, test, live, inputs, windows, pd.Timestamp(data_through), level, p)
    findings = {name: statistic(name).check(ctx) for name in p.statistics}
    n = len(live)
    err_model = (live["forecast"] - live["actual"]).abs()
    err_persist = (live["close"] - live["actual"]).abs()
    trail = live.assign(cum_mae_ratio=err_model.cumsum() / err_persist.cumsum(),
                        cum_error_vs_persistence=(err_model - err_persist).cumsum())  # fmt: skip
    for finding in findings.values():
        trail = trail.assign(**finding.columns)
    fired = [statistic(name).verdict for name, f in findings.items() if f.fired]
    dm, dm_p = diebold_mariano(live["actual"], live["forecast"], live["close"]) if n >= 3 else (None, None)
    result = Check(
        live_days=n,
        live_mae_ratio=mae_ratio(live["actual"], live["forecast"], live["close"]) if n else None,
        test_mae_ratio=mae_ratio(test["actual"], test["forecast"], test["close"]),
        live_mae=float(err_model.mean()) if n else None,
        persistence_mae=float(err_persist.mean()) if n else None,
        verdict="too few days" if n < p.min_days else fired[0] if fired else "ok",
        findings=findings,
        live_dm_stat=_finite_or_none(dm),
        live_dm_pvalue=_finite_or_none(dm_p),
        first_day=str(live["target_date"].iloc[0].date()) if n else None,
        last_day=str(live["target_date"].iloc[-1].date()) if n else None,
    )
    return result, trail


def due(finding: Finding | None, once: bool, alarmed_before: bool, days_since_alarm: int | None,
        cooldown_days: int) -> bool:  # fmt: skip
    """Whether the finding that decided a check's verdict raises an alarm, given this champion's earlier alarms.

    A finding that does not call for one (drift toward a calmer market) never does. A statistic that alarms
    `once` per champion (drift) does not again: its challenger, trained on the drifted days, was judged against
    the champion there, and a champion that survived that gate has shown it still works on them. The others
    (decay, coverage) alarm again only after `cooldown_days` more live days: a retrain the gate rejected leaves
    the champion in place, and without the cool-down every daily check would start another.
    """
    if finding is None or not finding.alarms or (once and alarmed_before):
        return False
    return days_since_alarm is None or days_since_alarm >= cooldown_days


def live_strategy(prices: pd.DataFrame, live: pd.DataFrame, p: BacktestParams) -> dict[str, dict[str, float]]:
    """The live forecasts traded under the run's rules and costs, beside Buy-and-Hold on the same bars."""
    if live.empty:
        return {}
    win = trading_window(prices, live)
    rules = Rules.from_params(p)
    return {
        "strategy": strategy_metrics(run_backtest(win.bars, win.signals(p.threshold, p.allow_short), rules),
                                     p.cash, p.risk_free_rate),
        "buy_and_hold": strategy_metrics(buy_and_hold(win.bars, rules), p.cash, p.risk_free_rate),
    }  # fmt: skip


def _finite_or_none(value: Any) -> float | None:
    return float(value) if value is not None and np.isfinite(value) else None


def alarm_due(verdict_: str, days_since_alarm: int | None, cooldown_days: int, drift_alarmed: bool = False,
              drift_adverse: bool = True) -> bool:  # fmt: skip
    """`due` for a verdict alone, as the replay of retraining policies asks it (decay and drift only)."""
    if verdict_ not in ("decayed", "miscovered", "drifted"):
        return False
    drifted = verdict_ == "drifted"
    finding = Finding(fired=True, alarms=drift_adverse or not drifted)
    return due(finding, drifted, drift_alarmed and drifted, days_since_alarm, cooldown_days)
