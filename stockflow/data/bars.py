"""A market's bars checked in one pass: the suite's rules vectorised over a long frame of many tickers, and what a
universe does with each bar that breaks one (mask it, treat its volume as missing, or only report it).

The long frame has one row per ticker and date: `Ticker, Date, Open, High, Low, Close, Volume` (`Open`, `High`,
`Low` and `Volume` may be absent: a close-only market). The rules are the ones `expectations/ohlcv.json` names,
under the same names, so a finding here and Great Expectations' on one ticker's file say the same thing (a test
cross-checks them). What each rule does to a universe:

- **masked**: a bar real prices cannot give (a price missing, zero or negative; High below Low; Open or Close
  outside [Low, High]: Stooq's decimal shifts). No feature reads it, no label uses it, no trade fills on it.
- **volume missing**: zero, negative or absent volume; the bar's prices stay.
- **reported**: a close-to-close move beyond the bound, a long gap. Real prices do this (AIG on 2008-09-15): it is
  named, never masked.
- **dropped**: a ticker the universe cannot use at all (a date that does not parse, a date twice, too few bars,
  or more than `max_bad_share` of its days bad or missing).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

PRICES = ("Open", "High", "Low", "Close")
MASKED, VOLUME_MISSING, REPORTED, DROPPED = "masked", "volume missing", "reported", "dropped"
RETURN_RULE = "daily close-to-close return within the bound (a x100 price or an unadjusted split breaks it)"
ORDER = ("High", "Open"), ("High", "Close"), ("High", "Low"), ("Open", "Low"), ("Close", "Low")


@dataclass(frozen=True)
class Checked:
    """A market's findings, one row per (ticker, date, rule) broken, and what became of each ticker."""

    findings: pd.DataFrame  # ticker, date, rule, action, open, high, low, close, volume
    dropped: dict[str, str]  # ticker -> why it is left out of the universe
    tickers: tuple[str, ...]  # every ticker checked, in order

    @property
    def kept(self) -> tuple[str, ...]:
        return tuple(t for t in self.tickers if t not in self.dropped)

    def masked(self) -> pd.DataFrame:
        """The (ticker, date) pairs masked, once each."""
        rows = self.findings[self.findings["action"] == MASKED]
        return rows[["ticker", "date"]].drop_duplicates().reset_index(drop=True)

    def volume_missing(self) -> pd.DataFrame:
        rows = self.findings[self.findings["action"] == VOLUME_MISSING]
        return rows[["ticker", "date"]].drop_duplicates().reset_index(drop=True)

    def counts(self) -> dict[str, int]:
        """How many bars each rule flagged, and the figures a run's summary shows."""
        return {
            "tickers": len(self.tickers),
            "tickers_dropped": len(self.dropped),
            "bars_masked": len(self.masked()),
            "bars_volume_missing": len(self.volume_missing()),
            "bars_reported": int((self.findings["action"] == REPORTED).sum()),
        }

    def by_rule(self, worst: int = 3) -> list[dict]:
        """One entry per rule: its action, how many bars and tickers, and the tickers it flagged most."""
        out = []
        for (rule, action), rows in self.findings.groupby(["rule", "action"], sort=False):
            top = rows["ticker"].value_counts().head(worst)
            out.append({"rule": rule, "action": action, "bars": len(rows), "tickers": rows["ticker"].nunique(),
                        "worst": {str(t): int(n) for t, n in top.items()},
                        "first": f"{rows['ticker'].iloc[0]} {pd.Timestamp(rows['date'].iloc[0]).date()}"})  # fmt: skip
        return out

    def lines(self) -> list[str]:
        """The summary a person reads: one line per rule (grouped, however many tickers), then each dropped ticker."""
        out = []
        for r in self.by_rule():
            worst = ", ".join(f"{t} {n}" for t, n in r["worst"].items())
            out.append(f"{r['action']:14} {r['rule']}: {r['bars']} bar(s) of {r['tickers']} ticker(s) "
                       f"(most: {worst}; first: {r['first']})")  # fmt: skip
        out += [f"{DROPPED:14} {t}: {why}" for t, why in self.dropped.items()]
        return out


def check(long: pd.DataFrame, max_abs_return: float, max_gap_days: int, min_rows: int,
          max_bad_share: float) -> Checked:  # fmt: skip
    """Every rule on every bar of `long` at once (see the module's docstring)."""
    frame = long.sort_values(["Ticker", "Date"], kind="stable").reset_index(drop=True)
    tickers = tuple(dict.fromkeys(frame["Ticker"]))
    has = [c for c in (*PRICES, "Volume") if c in frame.columns]
    parts: list[pd.DataFrame] = []

    def flag(mask: pd.Series | np.ndarray, rule: str, action: str) -> None:
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            rows = frame.loc[mask, ["Ticker", "Date", *has]].rename(columns=str.lower)
            parts.append(rows.assign(rule=rule, action=action))

    dropped: dict[str, str] = {}
    bad_date = frame["Date"].isna()
    for t in frame.loc[bad_date, "Ticker"].unique():
        dropped[t] = f"{int((bad_date & (frame['Ticker'] == t)).sum())} date(s) that do not parse"
    twice = frame.duplicated(["Ticker", "Date"], keep=False) & ~bad_date
    for t in frame.loc[twice, "Ticker"].unique():
        dropped.setdefault(t, f"{int((twice & (frame['Ticker'] == t)).sum())} rows share a date")
    flag(twice, "dates are unique", DROPPED)

    for col in (c for c in PRICES if c in frame.columns):
        flag(frame[col].isna(), f"{col} is present and numeric on every row", MASKED)
        flag(frame[col] <= 0, f"{col} is strictly positive", MASKED)
    for high, low in (pair for pair in ORDER if set(pair) <= set(frame.columns)):
        flag(frame[high] < frame[low], f"{high} >= {low}", MASKED)
    if "Volume" in frame.columns:
        flag(frame["Volume"].isna(), "Volume is present and numeric on every row", VOLUME_MISSING)
        flag(frame["Volume"] < 0, "Volume is not negative", VOLUME_MISSING)
        flag(frame["Volume"] == 0, "Volume is not zero", VOLUME_MISSING)

    same = frame["Ticker"].eq(frame["Ticker"].shift())
    bad_bar = _any_masked(frame, has)
    close = frame["Close"].where(~bad_bar)  # a masked close says nothing about the move into or out of it
    move = (close / close.shift()).where(same) - 1
    flag(move.abs() > max_abs_return, RETURN_RULE, REPORTED)
    gap = frame["Date"].diff().dt.days.where(same)
    flag(gap > max_gap_days, "no gap between consecutive dates longer than validate.max_gap_days", REPORTED)

    _drop_thin(frame, bad_bar, min_rows, max_bad_share, dropped)
    columns = ["ticker", "date", "rule", "action", *(c.lower() for c in has)]
    findings = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=columns)
    findings = findings.reindex(columns=columns).sort_values(["ticker", "date"], kind="stable").reset_index(drop=True)
    return Checked(findings, {t: dropped[t] for t in tickers if t in dropped}, tickers)


def _any_masked(frame: pd.DataFrame, has: list[str]) -> pd.Series:
    prices = [c for c in PRICES if c in has]
    bad = frame[prices].isna().any(axis=1) | (frame[prices] <= 0).any(axis=1)
    for high, low in (pair for pair in ORDER if set(pair) <= set(prices)):
        bad |= frame[high] < frame[low]
    return bad


def _drop_thin(frame: pd.DataFrame, bad_bar: pd.Series, min_rows: int, max_bad_share: float,
               dropped: dict[str, str]) -> None:  # fmt: skip
    """Tickers with too few good bars, or too many of their days bad or missing (days the market traded, between
    the ticker's first and last bar, that it has no bar for)."""
    dates = frame["Date"].dropna()
    market = np.sort(dates.unique())
    per = frame.assign(bad=bad_bar).dropna(subset=["Date"]).groupby("Ticker", sort=False)
    stats = per.agg(first=("Date", "min"), last=("Date", "max"), rows=("Date", "size"), bad=("bad", "sum"))
    span = np.searchsorted(market, stats["last"].to_numpy(), side="right") - np.searchsorted(
        market, stats["first"].to_numpy(), side="left")  # fmt: skip
    missing = np.maximum(span - stats["rows"].to_numpy(), 0)
    for (ticker, row), days, gone in zip(stats.iterrows(), span, missing, strict=True):
        good = int(row["rows"] - row["bad"])
        share = (row["bad"] + gone) / max(days, 1)
        if good < min_rows:
            dropped.setdefault(ticker, f"{good} good bar(s), fewer than validate.min_rows ({min_rows})")
        elif share > max_bad_share:
            dropped.setdefault(ticker, f"{share:.1%} of its {days} days bad ({int(row['bad'])}) or missing ({gone}), "
                                       f"more than validate.max_bad_share ({max_bad_share:.0%})")  # fmt: skip


def mask(frames: dict[str, pd.DataFrame], findings: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """`frames` with every masked bar's prices set missing and every missing volume set missing (`findings` as
    `check` gives them, or as read back from its file)."""
    dates = pd.to_datetime(findings["date"])
    masked = dates[findings["action"] == MASKED].groupby(findings["ticker"]).apply(set).to_dict()
    quiet = dates[findings["action"] == VOLUME_MISSING].groupby(findings["ticker"]).apply(set).to_dict()
    out = {}
    for ticker in frames:
        frame = frames[ticker].copy()
        dates = pd.to_datetime(frame["Date"])
        prices = [c for c in PRICES if c in frame.columns]
        frame.loc[dates.isin(masked.get(ticker, ())), prices] = np.nan
        if "Volume" in frame.columns:
            frame.loc[dates.isin(quiet.get(ticker, ())), "Volume"] = np.nan
        out[ticker] = frame
    return out


def long_frame(frames: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Tickers' canonical frames as one long frame (`Ticker` first); prices coerced to numbers (text -> missing)."""
    parts = [f.assign(Ticker=t) for t, f in frames.items()]
    long = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["Ticker", "Date", "Close"])
    for col in (c for c in (*PRICES, "Volume") if c in long.columns):
        long[col] = pd.to_numeric(long[col], errors="coerce")
    long["Date"] = pd.to_datetime(long["Date"], errors="coerce")
    return long[["Ticker", *[c for c in long.columns if c != "Ticker"]]]
