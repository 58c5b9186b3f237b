"""A universe of tickers as one panel: dates x tickers x features, labels ranked across the universe each day,
train / validation / test cut by date for every ticker, and lookback windows gathered lazily.

Alignment: the panel's dates are every date any ticker has a bar on. A ticker absent on a
day has no bar there (NaN), and nothing is filled forward past it: a return needs the
ticker's closes on a date and on the panel's date before it, so its windows over the gap
are not samples, and it is not scored on days it has no bar or no next bar.

Features of ticker i on date t come from closes up to t only (causal), its own and the
universe's the same days, so that lead and lag between stocks is learnable:
`return_1` (the day's log return), `return_5`, `return_20`, `volatility_20`, the
`market` (the universe's equal-weight return that day), `excess` (the ticker's return
minus the market's) and `dispersion` (the cross-sectional spread of the day's returns).

The label of (t, i) is what a decision at the close of t earns on ticker i: the log return
from its fill (the next open, or the next close for close-only data) to the fill `horizon`
days later (`Panel.outcome`; a day's close is never traded at that close), normalised across
the tickers that have it that day: `rank` (the rank's quantile, centred, unit variance, as Qlib's
CSRankNorm) or `zscore`. Dates are split in time order (the last `test_fraction` of
sample dates is the test window, `val_fraction` of the rest before it validation), the
same dates for every ticker, with a gap of the label's length before the next split; the
feature scaler is fitted on training dates only.
Windows are never built all at once: a sample is an index pair (date, ticker), and
`Windows.take` gathers the rows of a batch when it is asked for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

FEATURES = ("return_1", "return_5", "return_20", "volatility_20", "market", "excess", "dispersion")
SPLITS = ("train", "val", "test")
WARM_UP = 21  # bars before the slowest feature (20-day return, 20-day volatility) is known


@dataclass(frozen=True)
class Panel:
    """Closes (and opens, highs, lows and volumes, when every ticker has them) of a universe on the union of its
    dates; NaN = no bar (or a masked one)."""

    dates: np.ndarray  # (T,) datetime64[ns], increasing
    tickers: tuple[str, ...]  # (N,)
    close: np.ndarray  # (T, N)
    open: np.ndarray | None  # (T, N), or None for close-only data (then trades fill at the next close)
    high: np.ndarray | None = None  # (T, N) each, or None: what OHLCV factors (alpha158) read
    low: np.ndarray | None = None
    volume: np.ndarray | None = None

    @property
    def ohlcv(self) -> bool:
        return all(a is not None for a in (self.open, self.high, self.low, self.volume))

    @property
    def close_only(self) -> bool:
        return self.open is None

    def returns(self) -> np.ndarray:
        """(T, N) log return of each ticker from the panel's previous date to this one; NaN across a gap."""
        out = np.full(self.close.shape, np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.log(self.close[1:] / self.close[:-1])
        return out

    def fills(self) -> np.ndarray:
        """(T, N) the prices decisions fill at: opens (a decision at a close fills at the next open), or closes for
        close-only data (the next close)."""
        return self.close if self.open is None else self.open

    def outcome(self, horizon: int = 1) -> np.ndarray:
        """(T, N) what a decision at the close of date t earns: the log return from its fill on the next date to
        the fill `horizon` dates later; NaN where either price is unknown."""
        fill, t = self.fills(), len(self.dates)
        out = np.full(fill.shape, np.nan)
        if t > 1 + horizon:
            with np.errstate(invalid="ignore", divide="ignore"):
                out[: t - 1 - horizon] = np.log(fill[1 + horizon :] / fill[1 : t - horizon])
        return out

    def next_returns(self) -> np.ndarray:
        """(T, N) the return a decision at the close of date t is about: t's close to the next date's close."""
        out = np.full(self.close.shape, np.nan)
        out[:-1] = self.returns()[1:]
        return out

    def frame(self, values: np.ndarray) -> pd.DataFrame:
        """A (T, N) array as a frame indexed by date, one column per ticker."""
        return pd.DataFrame(values, index=pd.DatetimeIndex(self.dates, name="date"), columns=list(self.tickers))


def align(prices: Mapping[str, pd.DataFrame]) -> Panel:
    """The tickers' price frames (Date, Close, and Open when they have one) on the union of their dates."""
    if len(prices) < 2:
        raise ValueError(f"a universe needs at least two tickers, got {len(prices)}")
    closes = {t: f.set_index(pd.to_datetime(f["Date"]))["Close"].astype(float) for t, f in prices.items()}
    close = pd.DataFrame(closes).sort_index()

    def column(name: str) -> np.ndarray | None:  # when every ticker has it; a masked bar's value is missing
        if not all(name in f.columns for f in prices.values()):
            return None
        return pd.DataFrame({t: f.set_index(pd.to_datetime(f["Date"]))[name].astype(float)
                             for t, f in prices.items()}).reindex(close.index).to_numpy()  # fmt: skip

    return Panel(close.index.to_numpy(dtype="datetime64[ns]"), tuple(prices), close.to_numpy(), column("Open"),
                 column("High"), column("Low"), column("Volume"))  # fmt: skip


FEATURE_SETS = ("basic", "alpha158", "raw")
RAW = ("open", "high", "low", "close", "vwap", "volume")  # `raw`: each day's bar, in logs


def feature_names(kind: str = "basic") -> tuple[str, ...]:
    from stockflow.universe.factors import ALPHA158

    return {"alpha158": ALPHA158, "raw": RAW}.get(kind, FEATURES)


def features(panel: Panel, kind: str = "basic") -> np.ndarray:
    """(T, N, K) causal features per ticker and date: `basic` (the module's docstring) or `alpha158`
    (stockflow/universe/factors.py, from OHLCV bars); NaN where unknown."""
    if kind == "alpha158":
        return _alpha158(panel)
    if kind == "raw":
        return _raw(panel)
    if kind != "basic":
        raise ValueError(f"features {kind!r}: one of {', '.join(FEATURE_SETS)}")
    return _basic(panel)


def _alpha158(panel: Panel) -> np.ndarray:
    from stockflow.universe.factors import alpha158

    if not panel.ohlcv:
        raise ValueError("features alpha158 read Open, High, Low, Close and Volume: some tickers of this universe "
                         "have closes only (universe.preprocess.features: basic)")  # fmt: skip
    return alpha158(panel.open, panel.high, panel.low, panel.close, panel.volume)


def _raw(panel: Panel) -> np.ndarray:
    """(T, N, 6) each day's bar in logs: open, high, low, close, vwap ((high + low + close) / 3) and volume + 1
    (a missing volume counts as none). A window of them made relative to its last day is Qlib's Alpha360."""
    if not panel.ohlcv:
        raise ValueError("features raw read Open, High, Low, Close and Volume: some tickers of this universe have "
                         "closes only (universe.preprocess.features: basic)")  # fmt: skip
    vwap = (panel.high + panel.low + panel.close) / 3
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = [np.log(a) for a in (panel.open, panel.high, panel.low, panel.close, vwap)]
        return np.stack([*logs, np.log1p(np.nan_to_num(panel.volume))], axis=-1).astype(np.float32)


def known(feats: np.ndarray, kind: str = "basic") -> np.ndarray:
    """(T, N) whether a (date, ticker) has its features: all of them for `basic`; for `alpha158`, today's bar
    (KMID) and a whole 60 days of closes (MA60); its other factors may be missing (a flat volume has no
    correlation) and count as the training median, as Qlib fills them."""
    if kind == "alpha158":
        names = feature_names(kind)
        return ~np.isnan(feats[..., names.index("KMID")]) & ~np.isnan(feats[..., names.index("MA60")])
    return ~np.isnan(feats).any(axis=-1)


def _basic(panel: Panel) -> np.ndarray:
    r = panel.returns()
    frame = pd.DataFrame(r)
    market = frame.mean(axis=1).to_numpy()[:, None]  # over the tickers that have a return that day
    dispersion = frame.std(axis=1, ddof=0).where(frame.count(axis=1) > 1).to_numpy()[:, None]
    columns = {
        "return_1": r,
        "return_5": frame.rolling(5, min_periods=5).sum().to_numpy(),
        "return_20": frame.rolling(20, min_periods=20).sum().to_numpy(),
        "volatility_20": frame.rolling(20, min_periods=20).std().to_numpy(),
        "market": np.broadcast_to(market, r.shape),
        "excess": r - market,
        "dispersion": np.broadcast_to(dispersion, r.shape),
    }
    out = np.stack([columns[name] for name in FEATURES], axis=-1)
    out[np.isnan(r)] = np.nan  # a ticker without its own return that day has no features that day
    return out


def labels(panel: Panel, kind: str, horizon: int = 1) -> np.ndarray:
    """(T, N) what each ticker's decision at t earns (`Panel.outcome`: from the next fill to the fill `horizon`
    days later) normalised across the tickers that have one that day."""
    nxt = panel.outcome(horizon)
    frame = pd.DataFrame(nxt)
    if kind == "rank":
        pct = frame.rank(axis=1, pct=True, method="average")
        n = frame.notna().sum(axis=1).to_numpy()[:, None]
        # Quantile of the rank, centred on 0: (rank - 0.5) / n - 0.5, times sqrt(12) for unit variance.
        ranked = (pct.to_numpy() * n - 0.5) / np.maximum(n, 1) - 0.5
        out = ranked * np.sqrt(12.0)
    elif kind == "zscore":
        mean = frame.mean(axis=1).to_numpy()[:, None]
        std = frame.std(axis=1, ddof=0).to_numpy()[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (nxt - mean) / np.where(std > 0, std, np.nan)
    else:
        raise ValueError(f"label {kind!r}: rank or zscore")
    counts = frame.notna().sum(axis=1).to_numpy()
    out[counts < 2] = np.nan  # a day with one ticker ranks nothing
    return out


@dataclass(frozen=True)
class Scaler:
    """Per-feature centre and scale over the training dates' cells: mean and standard deviation, or (robust) the
    median and 1.4826 x the median absolute deviation, clipped at `clip` (Qlib's RobustZScoreNorm)."""

    mean: np.ndarray
    std: np.ndarray
    clip: float | None = None

    @classmethod
    def fit(cls, feats: np.ndarray) -> Scaler:
        flat = feats.reshape(-1, feats.shape[-1])
        mean, std = np.nanmean(flat, axis=0), np.nanstd(flat, axis=0)
        return cls(mean, np.where(std > 0, std, 1.0))

    @classmethod
    def fit_robust(cls, feats: np.ndarray, clip: float = 3.0) -> Scaler:
        flat = feats.reshape(-1, feats.shape[-1])
        centre = np.nanmedian(flat, axis=0)
        scale = np.nanmedian(np.abs(flat - centre), axis=0) * 1.4826
        return cls(np.nan_to_num(centre), np.where(scale > 0, scale, 1.0), clip)

    @classmethod
    def fitted(cls, feats: np.ndarray, kind: str) -> Scaler:
        """The scaler a feature set takes: robust for alpha158's heavy tails, mean and deviation for the basic; none
        for raw windows, which are made relative to their last day instead (`Windows.take`)."""
        if kind == "raw":
            return cls(np.zeros(feats.shape[-1]), np.ones(feats.shape[-1]))
        return cls.fit_robust(feats) if kind == "alpha158" else cls.fit(feats)

    def apply(self, feats: np.ndarray) -> np.ndarray:
        out = ((feats - self.mean) / self.std).astype(np.float32)
        return out if self.clip is None else np.clip(out, -self.clip, self.clip, out=out)


def sample_dates(feats: np.ndarray, y: np.ndarray, lookback: int, kind: str = "basic") -> np.ndarray:
    """(T, N) whether (date, ticker) is a sample: a full window of known features ending that date, and a label."""
    return _full_windows(known(feats, kind), lookback) & ~np.isnan(y)


def _full_windows(ok: np.ndarray, lookback: int) -> np.ndarray:
    run = pd.DataFrame(ok.astype(float)).rolling(lookback, min_periods=lookback).sum().to_numpy()
    return run == lookback


def split_dates(ok: np.ndarray, test_fraction: float, val_fraction: float, horizon: int = 1,
                starts: tuple[int, int] | None = None) -> dict[str, np.ndarray]:  # fmt: skip
    """Date indices of each split: sample dates (dates with at least one sample) in time order, by fractions or,
    given `starts` (the date indices where validation and test begin), by dates. A gap of the label's length is
    left before the next split: no training (or validation) label reads a price of the window after it (a label
    at t reads the fills of t + 1 and t + 1 + horizon)."""
    days = np.flatnonzero(ok.any(axis=1))
    if starts is not None:
        n_train, n_val = int((days < starts[0]).sum()), int(((days >= starts[0]) & (days < starts[1])).sum())
    else:
        n_test = int(round(len(days) * test_fraction))
        n_val = int(round((len(days) - n_test) * val_fraction))
        n_train = len(days) - n_test - n_val
    train, val, test = days[:n_train], days[n_train : n_train + n_val], days[n_train + n_val :]
    if len(val) and len(test):
        train, val = train[train + 1 + horizon <= val[0]], val[val + 1 + horizon <= test[0]]
    if min(len(train), len(val), len(test)) < 1:
        raise ValueError(f"{len(days)} sample dates are too few to split with test_fraction={test_fraction}, "
                         f"val_fraction={val_fraction} and a gap of horizon={horizon} days")  # fmt: skip
    return {"train": train, "val": val, "test": test}


@dataclass(frozen=True)
class Windows:
    """The lookback windows of a set of (date, ticker) samples, gathered from the scaled features on demand."""

    scaled: np.ndarray  # (T, N, K) float32
    date: np.ndarray  # (S,) date index of each sample (the window's last row)
    ticker: np.ndarray  # (S,) ticker index of each sample
    lookback: int
    relative: bool = False  # raw bars: each window's logs less its last day's close (prices) and volume (volume)

    def __len__(self) -> int:
        return len(self.date)

    def take(self, which: np.ndarray | slice) -> np.ndarray:
        """(len(which), lookback, K): the windows of the samples `which`, gathered now."""
        rows = self.date[which][:, None] + np.arange(1 - self.lookback, 1)
        out = self.scaled[rows, self.ticker[which][:, None], :]
        if self.relative:  # Alpha360: every price of the window over the last close, every volume over the last
            last = out[:, -1:, :].copy()
            out[..., :5] -= last[..., 3:4]
            out[..., 5:] -= last[..., 5:]
        return out


@dataclass(frozen=True)
class Transform:
    """What turns a universe's raw bars into its windows: the features, the lookback, the label, the scaler."""

    lookback: int
    label: str
    scaler: Scaler
    features: str = "basic"
    horizon: int = 1  # the label's: days from the fill after the decision to the fill it is judged at

    def windows(self, panel: Panel, min_date: int = 0) -> Windows:
        """Every full window of the panel (date index >= `min_date`), label or not: what a forecast is made from."""
        feats = features(panel, self.features)
        date, ticker = np.nonzero(_full_windows(known(feats, self.features), self.lookback))
        keep = date >= min_date
        return Windows(scaled(self.scaler, feats, self.features), date[keep], ticker[keep], self.lookback,
                       self.features == "raw")  # fmt: skip


def scaled(scaler: Scaler, feats: np.ndarray, kind: str) -> np.ndarray:
    """The features scaled. alpha158: a missing factor counts as the training centre (0 once scaled), as Qlib
    fills them. basic: missing is 0 before scaling, as it always was (no sample's window holds one)."""
    if kind == "basic":
        return scaler.apply(np.nan_to_num(feats))
    out = scaler.apply(feats)
    out[np.isnan(out)] = 0.0
    return out


@dataclass(frozen=True)
class PanelData:
    """A universe made ready to train: the panel, its labels, and each split's samples as lazy windows."""

    panel: Panel
    y: np.ndarray  # (T, N) labels
    windows: dict[str, Windows]
    transform: Transform
    split_days: dict[str, np.ndarray]  # date indices of each split

    def labels_of(self, split: str) -> np.ndarray:
        w = self.windows[split]
        return self.y[w.date, w.ticker].astype(np.float32)

    def sizes(self) -> dict[str, int]:
        return {split: len(self.windows[split]) for split in SPLITS}


@dataclass(frozen=True)
class Prepared:
    """A panel's features, labels and samples, before any split: what every split of it (one, or a replay's many)
    is cut from. Causal features do not depend on where the split falls, so they are computed once."""

    panel: Panel
    feats: np.ndarray  # (T, N, K)
    y: np.ndarray  # (T, N)
    ok: np.ndarray  # (T, N) whether (date, ticker) is a sample
    lookback: int
    label: str
    kind: str = "basic"
    horizon: int = 1

    def starts(self, val_start, test_start) -> tuple[int, int]:
        """The date indices where validation and test begin, from dates."""
        return tuple(int(np.searchsorted(self.panel.dates, np.datetime64(d))) for d in (val_start, test_start))


def prepare(panel: Panel, lookback: int, label: str, kind: str = "basic", horizon: int = 1) -> Prepared:
    """The panel's features, labels and samples."""
    feats, y = features(panel, kind), labels(panel, label, horizon)
    return Prepared(panel, feats, y, sample_dates(feats, y, lookback, kind), lookback, label, kind, horizon)


def split(p: Prepared, days: dict[str, np.ndarray]) -> PanelData:
    """The prepared panel cut at `days` (each split's date indices): the scaler fitted on the rows the training
    windows contain and no later one, every split's samples as index pairs."""
    first_train_row = max(0, int(days["train"][0]) - p.lookback + 1)
    scaler = Scaler.fitted(p.feats[first_train_row : days["train"][-1] + 1], p.kind)
    scaled_ = scaled(scaler, p.feats, p.kind)
    windows = {}
    for name, d in days.items():
        mask = np.zeros(len(p.panel.dates), dtype=bool)
        mask[d] = True
        date, ticker = np.nonzero(p.ok & mask[:, None])
        windows[name] = Windows(scaled_, date, ticker, p.lookback, p.kind == "raw")
    return PanelData(p.panel, p.y, windows, Transform(p.lookback, p.label, scaler, p.kind, p.horizon), days)


def make_panel_data(panel: Panel, lookback: int, label: str, test_fraction: float, val_fraction: float,
                    kind: str = "basic", horizon: int = 1, starts: tuple | None = None) -> PanelData:  # fmt: skip
    """Features, labels, the date split and the training-only scaler, with every split's samples as index pairs.
    `starts`: the first validation and test dates, to split by dates instead of by fractions."""
    p = prepare(panel, lookback, label, kind, horizon)
    at = None if starts is None else p.starts(*starts)
    return split(p, split_dates(p.ok, test_fraction, val_fraction, horizon, at))
