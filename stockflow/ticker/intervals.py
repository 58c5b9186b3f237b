"""How far tomorrow's close may move: the model's prediction interval, its baselines and their scores.

The point forecast is, honestly, persistence; day-to-day volatility is what can be
forecast (it clusters). The model's interval for the next close is

    forecast * exp(-q * s_t)  ..  forecast * exp(+q * s_t)

- `s_t`, the one-day volatility known at the close of day t, is the geometric mean
  of two forecasts made from different information:
  - **HAR on the range** (Corsi, 2009): |r_{t+1}| regressed by least squares, on the
    training days, on the daily, weekly (5-day) and monthly (22-day) Garman-Klass
    volatility. That estimate reads the day's open, high, low and overnight gap,
    which close-to-close returns never see.
  - **GARCH(1,1)** on the close-to-close log returns, fitted on the training days
    (`arch`) and run forward with those parameters fixed.
- `q` is the split-conformal quantile (Vovk; Lei et al., 2018) of the normalised
  errors |r - r_hat| / s on the **validation** days: the ceil((n + 1) * level) / n
  empirical quantile, so that on exchangeable days the interval covers at least
  `level` of them. The test days judge it; they are never used to build it.

Chosen by measurement (docs/forecasts.md has the table): on the S&P 500, NASDAQ and
GOOG samples, scaling by this mean beat HAR alone, GARCH alone, EWMA and the trailing
standard deviation, symmetric beat asymmetric quantiles, and unscaled conformal
(a constant width) was worst of all.

The baselines, on the same days: **gaussian**, today's close * exp(+-z * sigma_20),
sigma_20 the standard deviation of the last 20 log returns; **garch**, the GARCH(1,1)'s
own Gaussian interval, exp(mu +- z * sigma_t). Each interval is scored by its coverage,
its mean width, and the Winkler (interval) score (Gneiting and Raftery, 2007), which
charges width plus 2 / alpha times every miss, so a narrow interval that misses loses.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from statistics import NormalDist

import numpy as np
import pandas as pd

HAR_DAYS = (1, 5, 22)  # daily, weekly, monthly volatility
GAUSSIAN_DAYS = 20  # the trailing window of the Gaussian baseline
BASELINES = ("gaussian", "garch")


def log_returns(prices: pd.DataFrame) -> np.ndarray:
    """log(close_t / close_{t-1}) per row; 0 on the first row (no move known yet)."""
    close = prices["Close"].to_numpy(dtype=float)
    return np.concatenate([[0.0], np.diff(np.log(close))])


def range_variance(prices: pd.DataFrame) -> np.ndarray:
    """Garman-Klass daily variance with the overnight gap: ln(O/C_prev)^2 + 0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2.

    Known at the day's close. Clipped at 0 (a bar with high = low and a move can make it negative).
    """
    o, h, lo, c = (prices[k].to_numpy(dtype=float) for k in ("Open", "High", "Low", "Close"))
    gap = np.concatenate([[0.0], np.log(o[1:] / c[:-1])])
    var = gap**2 + 0.5 * np.log(h / lo) ** 2 - (2 * math.log(2) - 1) * np.log(c / o) ** 2
    return np.maximum(np.nan_to_num(var, nan=0.0, posinf=0.0), 0.0)


def har_inputs(prices: pd.DataFrame) -> np.ndarray:
    """Rows of [1, daily, weekly, monthly] range volatility, one per bar, from that bar and earlier ones only."""
    var = pd.Series(range_variance(prices))
    cols = [np.sqrt(var.rolling(days, min_periods=1).mean().to_numpy()) for days in HAR_DAYS]
    return np.column_stack([np.ones(len(var)), *cols])


@dataclass(frozen=True)
class Volatility:
    """The one-day volatility model: HAR coefficients, GARCH(1,1) parameters (in log-return units), a floor."""

    har: tuple[float, ...]  # intercept, daily, weekly, monthly
    garch: tuple[float, float, float, float]  # mu, omega, alpha, beta
    floor: float  # the smallest HAR forecast allowed (least squares can go below zero on a dead-calm day)

    def garch_forecasts(self, prices: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """Per row t: the GARCH(1,1) mean and volatility of r_{t+1}, from the returns up to t.

        sigma^2_{t+1} = omega + alpha (r_t - mu)^2 + beta sigma^2_t, from the unconditional variance.
        """
        from scipy.signal import lfilter

        mu, omega, alpha, beta = self.garch
        r = log_returns(prices)
        shock = np.where(np.arange(len(r)) == 0, 0.0, (r - mu) ** 2)
        start = omega / (1 - alpha - beta) if alpha + beta < 1 else float(np.var(r))
        var, _ = lfilter([1.0], [1.0, -beta], omega + alpha * shock, zi=[beta * start])
        return np.full(len(r), mu), np.sqrt(var)

    def har_forecasts(self, prices: pd.DataFrame) -> np.ndarray:
        return np.maximum(har_inputs(prices) @ np.asarray(self.har), self.floor)

    def scale(self, prices: pd.DataFrame) -> np.ndarray:
        """s_t per row: the geometric mean of the HAR and GARCH forecasts of tomorrow's volatility."""
        return np.sqrt(self.har_forecasts(prices) * self.garch_forecasts(prices)[1])


def fit_volatility(prices: pd.DataFrame, train_rows: np.ndarray) -> Volatility:
    """HAR by least squares and GARCH(1,1) by maximum likelihood, on the training decision days and their next moves."""
    from arch import arch_model

    rows = np.asarray(train_rows)
    nxt = log_returns(prices)[rows + 1]
    har, *_ = np.linalg.lstsq(har_inputs(prices)[rows], np.abs(nxt), rcond=None)
    # arch wants returns in percent (its optimiser is tuned for that scale); converted back below.
    fit = arch_model(100 * nxt, mean="Constant", vol="GARCH", p=1, q=1, dist="normal", rescale=False)
    res = fit.fit(disp="off", show_warning=False)
    mu, omega, alpha, beta = (float(res.params[k]) for k in ("mu", "omega", "alpha[1]", "beta[1]"))
    floor = 0.1 * float(np.median(np.abs(nxt))) or 1e-6
    return Volatility(tuple(float(b) for b in har), (mu / 100, omega / 1e4, alpha, beta), floor)


def conformal_quantile(scores: np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level)-th smallest of n scores: split conformal's finite-sample quantile."""
    s = np.sort(np.asarray(scores, dtype=float))
    s = s[np.isfinite(s)]
    if len(s) == 0:
        raise ValueError("no validation days to calibrate the interval on")
    k = min(len(s), math.ceil((len(s) + 1) * level))
    return float(s[k - 1])


@dataclass(frozen=True)
class Interval:
    """The calibrated interval: at `level`, forecast * exp(+-q * s_t)."""

    level: float
    q: float
    volatility: Volatility
    calibration_days: int

    def bounds(self, forecast: np.ndarray, scale: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        half = self.q * np.asarray(scale, dtype=float)
        forecast = np.asarray(forecast, dtype=float)
        return forecast * np.exp(-half), forecast * np.exp(half)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Interval:
        v = d["volatility"]
        vol = Volatility(tuple(v["har"]), tuple(v["garch"]), float(v["floor"]))
        return cls(float(d["level"]), float(d["q"]), vol, int(d["calibration_days"]))


def normalised_errors(actual: np.ndarray, forecast: np.ndarray, scale: np.ndarray) -> np.ndarray:
    """|log(actual / forecast)| / s: each day's miss in units of the volatility forecast."""
    return np.abs(np.log(np.asarray(actual, float) / np.asarray(forecast, float))) / np.asarray(scale, float)


def calibrate(volatility: Volatility, scale: np.ndarray, actual: np.ndarray, forecast: np.ndarray,
              level: float) -> Interval:  # fmt: skip
    """The interval whose q is the conformal quantile of the validation days' normalised errors."""
    errors = normalised_errors(actual, forecast, scale)
    return Interval(float(level), conformal_quantile(errors, level), volatility, int(np.isfinite(errors).sum()))


def z_value(level: float) -> float:
    """The standard normal quantile of a central interval at `level` (1.645 at 0.90)."""
    return NormalDist().inv_cdf(0.5 + level / 2)


def gaussian_bounds(prices: pd.DataFrame, rows: np.ndarray, level: float,
                    days: int = GAUSSIAN_DAYS) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Today's close * exp(+-z * sigma), sigma the standard deviation of the last `days` log returns."""
    r = pd.Series(log_returns(prices))
    r.iloc[0] = np.nan
    sigma = r.rolling(days, min_periods=2).std().to_numpy()[rows]
    close = prices["Close"].to_numpy(dtype=float)[rows]
    half = z_value(level) * sigma
    return close * np.exp(-half), close * np.exp(half)


def garch_bounds(volatility: Volatility, prices: pd.DataFrame, rows: np.ndarray,
                 level: float) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """The GARCH(1,1)'s own Gaussian interval: today's close * exp(mu +- z * sigma_t)."""
    mean, sigma = (a[rows] for a in volatility.garch_forecasts(prices))
    close = prices["Close"].to_numpy(dtype=float)[rows]
    half = z_value(level) * sigma
    return close * np.exp(mean - half), close * np.exp(mean + half)


def interval_scores(actual: np.ndarray, lower: np.ndarray, upper: np.ndarray, close: np.ndarray,
                    level: float) -> dict[str, float]:  # fmt: skip
    """Coverage, mean width (price points and % of today's close) and the mean Winkler score of an interval."""
    y, lo, hi = (np.asarray(a, dtype=float) for a in (actual, lower, upper))
    alpha = 1.0 - level
    width = hi - lo
    winkler = width + (2 / alpha) * (lo - y) * (y < lo) + (2 / alpha) * (y - hi) * (y > hi)
    return {
        "coverage": float(np.mean((y >= lo) & (y <= hi))),
        "width": float(np.mean(width)),
        "width_pct": float(np.mean(width / np.asarray(close, dtype=float)) * 100),
        "winkler": float(np.mean(winkler)),
    }


def kupiec(misses: int, days: int, level: float) -> tuple[float, float]:
    """Kupiec's proportion-of-failures test: likelihood ratio and p-value of `misses` in `days` at `level`.

    Under the null the interval misses with probability 1 - level each day; LR ~ chi-squared(1).
    """
    if days == 0:
        return float("nan"), float("nan")
    p, x, n = 1.0 - level, int(misses), int(days)
    phat = x / n

    def loglik(prob: float) -> float:
        return (n - x) * _log(1 - prob) + x * _log(prob)

    stat = max(0.0, -2.0 * (loglik(p) - loglik(phat)))
    return stat, math.erfc(math.sqrt(stat / 2.0))  # the chi-squared(1) survival function


def _log(v: float) -> float:
    return math.log(v) if v > 0 else 0.0  # 0 * log(0) = 0 in the likelihood
