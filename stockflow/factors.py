"""The factors the field computes from daily OHLCV bars, vectorised over a whole panel at once: Alpha158.

Alpha158 is Qlib's published set (`qlib/contrib/data/loader.py: Alpha158DL`, the default configuration):

- 9 **K-bar** shapes of the day's bar: KMID, KLEN, KMID2, KUP, KUP2, KLOW, KLOW2, KSFT, KSFT2;
- 4 **prices** against the close: OPEN0, HIGH0, LOW0, VWAP0 (vwap is (high + low + close) / 3 where none is given);
- 29 **rolling operators** over 5, 10, 20, 30 and 60 days: ROC, MA, STD, BETA, RSQR, RESI, MAX, MIN, QTLU, QTLD,
  RANK, RSV, IMAX, IMIN, IMXD, CORR, CORD, CNTP, CNTN, CNTD, SUMP, SUMN, SUMD, VMA, VSTD, WVMA, VSUMP, VSUMN, VSUMD.

Every array is (T dates, N tickers); nothing loops over tickers. A factor on date t reads bars up to t only.
One difference from Qlib, on purpose: a rolling operator needs its whole window known (Qlib's `min_periods=1`
computes from whatever part of the window exists), so a missing or masked bar stays missing in every window
that holds it, and the first `d - 1` days of a ticker have no `d`-day factor. Where every bar is known the values
are Qlib's (`make bench` compares them with Qlib's own handler; docs/universes.md lists the deviations).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

WINDOWS = (5, 10, 20, 30, 60)
KBAR = ("KMID", "KLEN", "KMID2", "KUP", "KUP2", "KLOW", "KLOW2", "KSFT", "KSFT2")
PRICE = ("OPEN0", "HIGH0", "LOW0", "VWAP0")
ROLLING = ("ROC", "MA", "STD", "BETA", "RSQR", "RESI", "MAX", "MIN", "QTLU", "QTLD", "RANK", "RSV", "IMAX", "IMIN",
           "IMXD", "CORR", "CORD", "CNTP", "CNTN", "CNTD", "SUMP", "SUMN", "SUMD", "VMA", "VSTD", "WVMA", "VSUMP",
           "VSUMN", "VSUMD")  # fmt: skip
ALPHA158 = (*KBAR, *PRICE, *(f"{op}{d}" for op in ROLLING for d in WINDOWS))
EPS = 1e-12  # Qlib's guard against a zero denominator


def alpha158(open_: np.ndarray, high: np.ndarray, low: np.ndarray, close: np.ndarray,
             volume: np.ndarray, vwap: np.ndarray | None = None) -> np.ndarray:  # fmt: skip
    """(T, N, 158) Alpha158 in the order of `ALPHA158`; NaN where a bar the factor reads is missing."""
    o, h, lo, c, v = (np.asarray(a, dtype=np.float64) for a in (open_, high, low, close, volume))
    vw = (h + lo + c) / 3 if vwap is None else np.asarray(vwap, dtype=np.float64)
    result = np.empty((*c.shape, len(ALPHA158)), dtype=np.float32)
    out = _Writer(result)
    with np.errstate(invalid="ignore", divide="ignore"):
        span = h - lo + EPS
        top, bottom = np.maximum(o, c), np.minimum(o, c)
        out.update(KMID=(c - o) / o, KLEN=(h - lo) / o, KMID2=(c - o) / span, KUP=(h - top) / o, KUP2=(h - top) / span,
                   KLOW=(bottom - lo) / o, KLOW2=(bottom - lo) / span, KSFT=(2 * c - h - lo) / o,
                   KSFT2=(2 * c - h - lo) / span)  # fmt: skip
        out.update(OPEN0=o / c, HIGH0=h / c, LOW0=lo / c, VWAP0=vw / c)
        prev = _shift(c, 1)
        up, down = (c > prev).astype(float), (c < prev).astype(float)
        up[np.isnan(prev) | np.isnan(c)] = np.nan
        down[np.isnan(prev) | np.isnan(c)] = np.nan
        gain, loss, move = np.maximum(c - prev, 0), np.maximum(prev - c, 0), np.abs(c - prev)
        vprev = _shift(v, 1)
        vgain, vloss, vmove = np.maximum(v - vprev, 0), np.maximum(vprev - v, 0), np.abs(v - vprev)
        log_volume = np.log(v + 1)
        change = c / prev
        volume_change = np.log(v / vprev + 1)
        weighted = np.abs(c / prev - 1) * v
        frames = {name: pd.DataFrame(a) for name, a in (("c", c), ("h", h), ("lo", lo), ("v", v))}
        for d in WINDOWS:
            roll = {name: f.rolling(d, min_periods=d) for name, f in frames.items()}
            slope, rsquare, resi = _regression(c, d)
            highest, lowest = roll["h"].max().to_numpy(), roll["lo"].min().to_numpy()
            imax, imin = _argextreme(h, d, np.argmax), _argextreme(lo, d, np.argmin)
            sum_gain, sum_loss, sum_move = _sum(gain, d), _sum(loss, d), _sum(move, d)
            sum_vgain, sum_vloss, sum_vmove = _sum(vgain, d), _sum(vloss, d), _sum(vmove, d)
            out.update({
                f"ROC{d}": _shift(c, d) / c,
                f"MA{d}": roll["c"].mean().to_numpy() / c,
                f"STD{d}": roll["c"].std().to_numpy() / c,
                f"BETA{d}": slope / c,
                f"RSQR{d}": rsquare,
                f"RESI{d}": resi / c,
                f"MAX{d}": highest / c,
                f"MIN{d}": lowest / c,
                f"QTLU{d}": roll["c"].quantile(0.8).to_numpy() / c,
                f"QTLD{d}": roll["c"].quantile(0.2).to_numpy() / c,
                f"RANK{d}": _rank(c, d),
                f"RSV{d}": (c - lowest) / (highest - lowest + EPS),
                f"IMAX{d}": imax / d,
                f"IMIN{d}": imin / d,
                f"IMXD{d}": (imax - imin) / d,
                f"CORR{d}": _corr(c, log_volume, d),
                f"CORD{d}": _corr(change, volume_change, d),
                f"CNTP{d}": _mean(up, d),
                f"CNTN{d}": _mean(down, d),
                f"CNTD{d}": _mean(up, d) - _mean(down, d),
                f"SUMP{d}": sum_gain / (sum_move + EPS),
                f"SUMN{d}": sum_loss / (sum_move + EPS),
                f"SUMD{d}": (sum_gain - sum_loss) / (sum_move + EPS),
                f"VMA{d}": roll["v"].mean().to_numpy() / (v + EPS),
                f"VSTD{d}": roll["v"].std().to_numpy() / (v + EPS),
                f"WVMA{d}": _std(weighted, d) / (_mean(weighted, d) + EPS),
                f"VSUMP{d}": sum_vgain / (sum_vmove + EPS),
                f"VSUMN{d}": sum_vloss / (sum_vmove + EPS),
                f"VSUMD{d}": (sum_vgain - sum_vloss) / (sum_vmove + EPS),
            })  # fmt: skip
    for i in range(result.shape[-1]):  # one factor at a time: a mask of the whole result would be as big as it
        column = result[..., i]
        column[~np.isfinite(column)] = np.nan
    return result


class _Writer:
    """Each factor written into its column of the result as soon as it is computed (memory: the result, and one
    window's operators at a time)."""

    def __init__(self, result: np.ndarray):
        self.result, self.index = result, {name: i for i, name in enumerate(ALPHA158)}

    def update(self, values: dict | None = None, **more: np.ndarray) -> None:
        for name, a in {**(values or {}), **more}.items():
            self.result[..., self.index[name]] = a


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """`a` k days earlier (Qlib's Ref(a, k)); NaN before the first."""
    out = np.full(a.shape, np.nan)
    out[k:] = a[:-k]
    return out


def _sum(a: np.ndarray, d: int) -> np.ndarray:
    return pd.DataFrame(a).rolling(d, min_periods=d).sum().to_numpy()


def _mean(a: np.ndarray, d: int) -> np.ndarray:
    return pd.DataFrame(a).rolling(d, min_periods=d).mean().to_numpy()


def _std(a: np.ndarray, d: int) -> np.ndarray:
    return pd.DataFrame(a).rolling(d, min_periods=d).std().to_numpy()


def _corr(a: np.ndarray, b: np.ndarray, d: int) -> np.ndarray:
    """Rolling correlation of two panels; NaN where either side is (nearly) constant, as Qlib's Corr. From rolling
    means of a, b and a*b: vectorised over every ticker at once."""
    ma, mb, mab = _mean(a, d), _mean(b, d), _mean(a * b, d)
    sa, sb = _std(a, d), _std(b, d)
    out = (mab - ma * mb) * d / (d - 1) / (sa * sb)
    out[np.isclose(sa, 0, atol=2e-05) | np.isclose(sb, 0, atol=2e-05)] = np.nan
    return out


def _lags(a: np.ndarray, d: int):
    """(position 1..d, the days at that position of every d-day window), oldest first, each a view of the rows
    that end a window (`a[d - 1:]`'s): a window's days visited as d whole-panel slices, so every operator below
    is d vectorised steps and no copy."""
    t = len(a)
    for i in range(1, d + 1):
        yield i, a[i - 1 : t - d + i]


def _whole(values: np.ndarray, a: np.ndarray, d: int) -> np.ndarray:
    """The (T, N) result whose rows from d - 1 on are `values`, NaN elsewhere and where a window is not whole."""
    out = np.full(a.shape, np.nan)
    out[d - 1 :] = values
    out[np.isnan(_sum(a, d))] = np.nan
    return out


def _argextreme(a: np.ndarray, d: int, pick) -> np.ndarray:
    """The 1-based position in each d-day window of its highest (`np.argmax`) or lowest value (`np.argmin`), the
    first one on a tie (Qlib's IdxMax, IdxMin: 1 is the window's first day, d today); NaN unless the window is whole."""
    best, pos = None, None
    for i, day in _lags(a, d):
        if best is None:
            best, pos = day.copy(), np.ones(day.shape)
            continue
        better = day > best if pick is np.argmax else day < best
        np.copyto(best, day, where=better)
        pos[better] = i
    return _whole(pos, a, d)


def _rank(a: np.ndarray, d: int) -> np.ndarray:
    """Today's value's percentile among its d-day window (pandas' rolling rank, pct=True, ties averaged)."""
    today = a[d - 1 :]
    below, same = np.zeros(today.shape), np.zeros(today.shape)
    for i, day in _lags(a, d):
        if i < d:
            below += day < today
            same += day == today
    return _whole((below + (same + 2) / 2) / d, a, d)


def _regression(y: np.ndarray, d: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each d-day window regressed on the day's position 1..d: the slope, the R-squared, and today's residual
    (Qlib's Slope, Rsquare and Resi); NaN where the window is not whole."""
    x_mean = (d + 1) / 2
    sxx = d * (d * d - 1) / 12  # the sum of (x - its mean)^2 over 1..d
    sxy = np.zeros(y[d - 1 :].shape)
    for i, day in _lags(y, d):
        sxy += (i - x_mean) * day
    mean, std = _mean(y, d), _std(y, d)
    slope = _whole(sxy / sxx, y, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsquare = slope * slope * sxx / (std * std * (d - 1))
    rsquare[np.isclose(std, 0, atol=2e-05)] = np.nan  # Qlib leaves a constant window's R-squared out
    return slope, rsquare, y - (mean + slope * (d - x_mean))
