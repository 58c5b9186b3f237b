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

import functools

import numpy as np
import pandas as pd
from pandas.api.indexers import BaseIndexer

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
        for d in WINDOWS:
            ma, std = _mean(c, d), _std(c, d)  # NaN exactly where a window of closes is not whole
            highest, lowest = _rolling(h, d, "max"), _rolling(lo, d, "min")
            out.update({f"ROC{d}": _shift(c, d) / c, f"MA{d}": ma / c, f"STD{d}": std / c})
            slope, rsquare, resi = _regression(c, d, ma, std)
            out.update({f"BETA{d}": slope / c, f"RSQR{d}": rsquare, f"RESI{d}": resi / c})
            del slope, rsquare, resi
            out.update({f"MAX{d}": highest / c, f"MIN{d}": lowest / c,
                        f"RSV{d}": (c - lowest) / (highest - lowest + EPS)})  # fmt: skip
            out.update({f"QTLU{d}": _rolling(c, d, "quantile", 0.8) / c,
                        f"QTLD{d}": _rolling(c, d, "quantile", 0.2) / c})  # fmt: skip
            out.update({f"RANK{d}": _rank(c, d, ma)})
            imax, imin = _argextreme(h, d, np.argmax, highest), _argextreme(lo, d, np.argmin, lowest)
            out.update({f"IMAX{d}": imax / d, f"IMIN{d}": imin / d, f"IMXD{d}": (imax - imin) / d})
            del imax, imin, highest, lowest
            out.update({f"CORR{d}": _corr(c, log_volume, d, ma, std), f"CORD{d}": _corr(change, volume_change, d)})
            cntp, cntn = _mean(up, d), _mean(down, d)
            out.update({f"CNTP{d}": cntp, f"CNTN{d}": cntn, f"CNTD{d}": cntp - cntn})
            del cntp, cntn
            sum_gain, sum_loss, sum_move = _sum(gain, d), _sum(loss, d), _sum(move, d)
            out.update({f"SUMP{d}": sum_gain / (sum_move + EPS), f"SUMN{d}": sum_loss / (sum_move + EPS),
                        f"SUMD{d}": (sum_gain - sum_loss) / (sum_move + EPS)})  # fmt: skip
            del sum_gain, sum_loss, sum_move
            out.update({f"VMA{d}": _mean(v, d) / (v + EPS), f"VSTD{d}": _std(v, d) / (v + EPS),
                        f"WVMA{d}": _std(weighted, d) / (_mean(weighted, d) + EPS)})  # fmt: skip
            sum_vgain, sum_vloss, sum_vmove = _sum(vgain, d), _sum(vloss, d), _sum(vmove, d)
            out.update({f"VSUMP{d}": sum_vgain / (sum_vmove + EPS), f"VSUMN{d}": sum_vloss / (sum_vmove + EPS),
                        f"VSUMD{d}": (sum_vgain - sum_vloss) / (sum_vmove + EPS)})  # fmt: skip
            del sum_vgain, sum_vloss, sum_vmove, ma, std
    out.flush()
    return result


class _Writer:
    """Factors written into their columns of the (T, N, K) result a few at a time, as float32, so that the result
    and a handful of (T, N) arrays are all that is held. A column of the result is strided (K floats apart): the
    buffered factors are written together a few dates at a time, while those dates' lines of memory are in the
    cache, instead of each factor sweeping the whole result (2.5x faster on the us500 panel)."""

    GROUP, ROWS = 16, 4  # factors written together; dates per block

    def __init__(self, result: np.ndarray):
        self.result, self.index = result, {name: i for i, name in enumerate(ALPHA158)}
        self.pending: list[tuple[int, np.ndarray]] = []

    def update(self, values: dict | None = None, **more: np.ndarray) -> None:
        for name, a in {**(values or {}), **more}.items():
            a = np.asarray(a).astype(np.float32)  # a copy: the mask below writes to it
            a[~np.isfinite(a)] = np.nan  # a zero denominator's infinity is no value either
            self.pending.append((self.index[name], a))
            if len(self.pending) == self.GROUP:
                self.flush()

    def flush(self) -> None:
        if not self.pending:
            return
        for start in range(0, self.result.shape[0], self.ROWS):
            rows = slice(start, start + self.ROWS)
            block = self.result[rows]  # small enough to stay in the cache while each factor writes its column
            for i, a in self.pending:
                block[..., i] = a[rows]
        self.pending = []


def _shift(a: np.ndarray, k: int) -> np.ndarray:
    """`a` k days earlier (Qlib's Ref(a, k)); NaN before the first."""
    out = np.full(a.shape, np.nan)
    out[k:] = a[:-k]
    return out


class _TickerWindows(BaseIndexer):
    """Windows of `window_size` rows over a panel laid out one ticker after another (`length` rows each), never
    reaching into the ticker before. At a ticker's first row the window starts afresh, and so does pandas' running
    state: each ticker's values are exactly those of its own column, from one call over the whole panel instead of
    one per ticker (the per-call overhead was most of the time)."""

    def get_window_bounds(self, num_values: int = 0, min_periods=None, center=None, closed=None, step=None):
        return _bounds(num_values, self.window_size, self.length)


@functools.lru_cache(maxsize=1)  # the loop goes window size by window size: one is enough, and light
def _bounds(num_values: int, window_size: int, length: int) -> tuple[np.ndarray, np.ndarray]:
    """The windows' starts and ends, made once per window size (its operators share them), read-only."""
    end = np.arange(1, num_values + 1, dtype=np.int64)
    first = (end - 1) - (end - 1) % length  # the row where this row's ticker begins
    start = np.maximum(end - window_size, first)
    start.flags.writeable = end.flags.writeable = False
    return start, end


def _rolling(a: np.ndarray, d: int, how: str, *args: float) -> np.ndarray:
    """pandas' rolling `how` (mean, std, sum, max, min, quantile) over d whole days of every ticker (a window with a
    missing day gives NaN), as a (T, N) array."""
    t, n = a.shape
    windows = pd.Series(np.ascontiguousarray(a.T).ravel()).rolling(
        _TickerWindows(window_size=d, length=t), min_periods=d
    )
    return np.ascontiguousarray(getattr(windows, how)(*args).to_numpy().reshape(n, t).T)


def _sum(a: np.ndarray, d: int) -> np.ndarray:
    return _rolling(a, d, "sum")


def _mean(a: np.ndarray, d: int) -> np.ndarray:
    return _rolling(a, d, "mean")


def _std(a: np.ndarray, d: int) -> np.ndarray:
    return _rolling(a, d, "std")


def _corr(a: np.ndarray, b: np.ndarray, d: int, ma: np.ndarray | None = None, sa: np.ndarray | None = None,
          ) -> np.ndarray:  # fmt: skip
    """Rolling correlation of two panels; NaN where either side is (nearly) constant, as Qlib's Corr. From rolling
    means of a, b and a*b: vectorised over every ticker at once (`ma`, `sa`: a's rolling mean and deviation, when
    already known)."""
    ma = _mean(a, d) if ma is None else ma
    sa = _std(a, d) if sa is None else sa
    mb, mab, sb = _mean(b, d), _mean(a * b, d), _std(b, d)
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


def _whole(values: np.ndarray, whole: np.ndarray, d: int) -> np.ndarray:
    """The (T, N) result whose rows from d - 1 on are `values`, NaN elsewhere and where `whole` (a rolling
    statistic of the same windows, NaN where a window is not whole) is NaN."""
    out = np.full(whole.shape, np.nan)
    out[d - 1 :] = values
    out[np.isnan(whole)] = np.nan
    return out


def _argextreme(a: np.ndarray, d: int, pick, whole: np.ndarray) -> np.ndarray:
    """The 1-based position in each d-day window of its highest (`np.argmax`) or lowest value (`np.argmin`), the
    first one on a tie (Qlib's IdxMax, IdxMin: 1 is the window's first day, d today); NaN unless the window is whole."""
    best, pos = None, None
    for i, day in _lags(a, d):
        if best is None:
            best, pos = day.copy(), np.ones(day.shape)
            continue
        better = day > best if pick is np.argmax else day < best
        np.copyto(best, day, where=better)
        np.copyto(pos, i, where=better)
    return _whole(pos, whole, d)


def _rank(a: np.ndarray, d: int, whole: np.ndarray) -> np.ndarray:
    """Today's value's percentile among its d-day window (pandas' rolling rank, pct=True, ties averaged)."""
    today = a[d - 1 :]
    below, same = np.zeros(today.shape), np.zeros(today.shape)
    for i, day in _lags(a, d):
        if i < d:
            below += day < today
            same += day == today
    return _whole((below + (same + 2) / 2) / d, whole, d)


def _regression(y: np.ndarray, d: int, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, ...]:
    """Each d-day window regressed on the day's position 1..d: the slope, the R-squared, and today's residual
    (Qlib's Slope, Rsquare and Resi); NaN where the window is not whole. `mean`, `std`: y's rolling ones."""
    x_mean = (d + 1) / 2
    sxx = d * (d * d - 1) / 12  # the sum of (x - its mean)^2 over 1..d
    sxy = np.zeros(y[d - 1 :].shape)
    for i, day in _lags(y, d):
        sxy += (i - x_mean) * day
    slope = _whole(sxy / sxx, mean, d)
    with np.errstate(invalid="ignore", divide="ignore"):
        rsquare = slope * slope * sxx / (std * std * (d - 1))
    rsquare[np.isclose(std, 0, atol=2e-05)] = np.nan  # Qlib leaves a constant window's R-squared out
    return slope, rsquare, y - (mean + slope * (d - x_mean))
