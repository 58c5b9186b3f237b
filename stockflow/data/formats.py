"""Price files as people download them (Yahoo, Kaggle, nasdaq.com, Stooq) -> the canonical frame, and what changed.

Only form is normalised, never content: header names mapped, newest-first files put
oldest first, `$` and thousands separators removed, Yahoo's all-`null` rows (days without
data) dropped, one-ticker columns dropped. Every change is said in a note. A cell that
still does not read as a number or a date keeps the file's own text, so the validation
gate's message shows it as the file has it. What cannot be read without a guess (dates that
fit both day-first and month-first) is refused with the reason.

The input is the file as text: every cell a string (`pandas.read_csv(dtype=str, keep_default_na=False)`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from stockflow.data.prices import COLUMNS
from stockflow.errors import PriceFileError

VALUES = ["Open", "High", "Low", "Close", "Adj Close", "Volume"]
# Header names, lowercased with everything but letters removed ("Close/Last" -> "closelast", "<VOL>" -> "vol").
ALIASES = {
    "date": "Date", "data": "Date", "timestamp": "Date",
    "open": "Open", "otwarcie": "Open",
    "high": "High", "najwyzszy": "High",
    "low": "Low", "najnizszy": "Low",
    "close": "Close", "closelast": "Close", "last": "Close", "zamkniecie": "Close",
    "adjclose": "Adj Close", "adjustedclose": "Adj Close",
    "volume": "Volume", "vol": "Volume", "wolumen": "Volume",
}  # fmt: skip
NAME_COLUMNS = {"name", "ticker", "symbol"}  # Kaggle's `Name`, Stooq's `<TICKER>`: one ticker per file
NULLS = {"null", "NaN", "nan", "N/A", "n/a", "-"}  # what sites write for "no value"; the gate reports each one
_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d*)?")
_DAY_MONTH = re.compile(r"(\d{1,2})([/.-])(\d{1,2})\2(\d{4})")
EXAMPLES = 3


@dataclass
class Normalised:
    """The canonical frame and, in words, everything that was changed to get it."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    adjusted_by: str | None = None  # the provider, when it is known to adjust prices for splits and dividends


def canonical(raw: pd.DataFrame) -> Normalised:
    """The frame of a downloaded price file (every cell as text) in canonical form; PriceFileError if ambiguous."""
    notes: list[str] = []
    frame = _map_columns(raw.copy(), notes)
    frame = _drop_name_columns(frame, notes)
    stooq = "per" in {_key(c) for c in frame.columns}  # Stooq's own layout: its prices are adjusted
    frame = _stooq_columns(frame, notes)
    frame = _drop_empty_rows(frame, notes)
    cleaned: dict[str, list[str]] = {"$ removed": [], "thousands separators removed": []}
    for col in [c for c in VALUES if c in frame.columns]:
        frame[col], dollars, thousands = _numbers(frame[col])
        cleaned["$ removed"] += [col] if dollars else []
        cleaned["thousands separators removed"] += [col] if thousands else []
    notes += [f"{what}: {', '.join(cols)}" for what, cols in cleaned.items() if cols]
    if "Date" in frame.columns:
        frame["Date"] = _dates(frame["Date"], notes)
        frame = _oldest_first(frame, notes)
    ordered = [c for c in COLUMNS if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in COLUMNS]].reset_index(drop=True)
    return Normalised(frame, notes, "Stooq" if stooq else None)


def _key(name: str) -> str:
    return re.sub(r"[^a-z]", "", str(name).lower())


def _map_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    renames = {}
    for col in frame.columns:
        target = ALIASES.get(_key(col))
        if target is not None and str(col) != target:
            renames[col] = target
    targets = [renames.get(c, str(c).strip()) for c in frame.columns]
    twice = sorted({t for t in targets if targets.count(t) > 1 and t in COLUMNS})
    if twice:
        raise PriceFileError(f"two columns read as {', '.join(twice)} ({', '.join(map(str, frame.columns))})")
    if renames:
        notes.append("columns mapped: " + ", ".join(f"{old.strip()} -> {new}" for old, new in renames.items()))
    frame.columns = targets
    return frame


def _drop_name_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    for col in [c for c in frame.columns if _key(c) in NAME_COLUMNS]:
        names = sorted(set(frame[col].str.strip()) - {""})
        if len(names) > 1:
            shown = ", ".join(names[:EXAMPLES]) + (", ..." if len(names) > EXAMPLES else "")
            raise PriceFileError(
                f"column {col} holds {len(names)} tickers ({shown}): one file per ticker, e.g. split it by {col}"
            )
        notes.append(f"column {col} dropped (one ticker: {names[0] if names else 'empty'})")
        frame = frame.drop(columns=[col])
    return frame


def _stooq_columns(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Stooq's bulk files: <PER> must be daily (D), <TIME> one time of day; <OPENINT> is always 0 for shares."""
    by_key = {_key(c): c for c in frame.columns}
    if "per" in by_key:
        periods = set(frame[by_key["per"]].astype(str).str.strip())
        if periods != {"D"}:
            raise PriceFileError(f"column {by_key['per']} is {', '.join(sorted(periods))}: daily bars (D) only")
        frame = frame.drop(columns=[by_key["per"]])
        notes.append(f"column {by_key['per']} dropped (daily bars)")
    if "time" in by_key:
        times = set(frame[by_key["time"]].astype(str).str.strip())
        if len(times) > 1:
            raise PriceFileError(f"column {by_key['time']} holds several times of day: daily bars only")
        frame = frame.drop(columns=[by_key["time"]])
        notes.append(f"column {by_key['time']} dropped (one time of day)")
    if "openint" in by_key:
        frame = frame.drop(columns=[by_key["openint"]])
        notes.append(f"column {by_key['openint']} dropped (open interest)")
    return frame


def _drop_empty_rows(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """Yahoo writes a row of `null` for a day it has no data for: not a bar. A row with some values stays."""
    values = [c for c in VALUES if c in frame.columns]
    if not values:
        return frame
    text = frame[values].apply(lambda s: s.str.strip())
    empty = text.isin(NULLS | {""}).all(axis=1)
    if empty.any():
        dates = frame.loc[empty, "Date"].tolist() if "Date" in frame.columns else []
        shown = ", ".join(dates[:EXAMPLES]) + (", ..." if len(dates) > EXAMPLES else "")
        notes.append(f"{int(empty.sum())} row(s) without any value dropped ({text[empty].iloc[0, 0]!r}): {shown}")
        frame = frame[~empty]
    return frame


def _numbers(column: pd.Series) -> tuple[pd.Series, bool, bool]:
    """Numbers where the text is one (after `$` and thousands separators), the file's text where it is not;
    and whether `$` and thousands separators were removed."""
    text = column.str.strip()
    dollars = text.str.startswith("$")
    cleaned = text.str.removeprefix("$")
    thousands = cleaned.str.fullmatch(_THOUSANDS.pattern)
    cleaned = cleaned.where(~thousands, cleaned.str.replace(",", "", regex=False))
    parsed = pd.to_numeric(cleaned.where(cleaned != ""), errors="coerce")
    unread = parsed.isna() & (text != "")
    if unread.any():
        parsed = parsed.astype(object).where(~unread, column)  # the gate shows these cells as the file has them
    return parsed, bool(dollars.any()), bool(thousands.any())


def _dates(column: pd.Series, notes: list[str]) -> pd.Series:
    """Dates in the file's one format; a cell that does not fit it keeps its text (the gate names it)."""
    text = column.str.strip()
    filled = text[text != ""]
    if filled.empty:
        return pd.to_datetime(text, errors="coerce")
    if filled.str.fullmatch(r"\d{8}").all():  # Stooq: 20130301
        fmt = "%Y%m%d"
    elif filled.str.fullmatch(r"\d{4}-\d{2}-\d{2}").mean() > 0.5:
        fmt = "%Y-%m-%d"
    elif filled.str.fullmatch(_DAY_MONTH.pattern).mean() > 0.5:
        fmt = _day_or_month_first(filled)
        notes.append(f"dates read as {fmt.replace('%d', 'DD').replace('%m', 'MM').replace('%Y', 'YYYY')}")
    else:
        parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        return parsed.astype(object).where(parsed.notna() | (text == ""), column)
    parsed = pd.to_datetime(text, errors="coerce", format=fmt)
    if parsed.notna().all():
        return parsed
    return parsed.astype(object).where(parsed.notna() | (text == ""), column)


def _day_or_month_first(dates: pd.Series) -> str:
    """`%m/%d/%Y` or `%d/%m/%Y` (or with `.`, `-`), decided by a day above 12; never guessed."""
    parts = dates.str.extract(_DAY_MONTH.pattern).dropna()
    first, sep, second = parts[0].astype(int), parts[1].iloc[0], parts[2].astype(int)
    day_first, month_first = bool((first > 12).any()), bool((second > 12).any())
    if day_first and month_first:
        raise PriceFileError(
            f"dates such as {dates[first > 12].iloc[0]} and {dates[second > 12].iloc[0]} put the day first in "
            "some rows and second in others: save the file with ISO dates (YYYY-MM-DD)"
        )
    if not day_first and not month_first:
        example = dates.iloc[0]
        a, b = int(parts[0].iloc[0]), int(parts[2].iloc[0])
        raise PriceFileError(
            f"dates are ambiguous: {example} could be day {a} of month {b} or day {b} of month {a}, and no day "
            "above 12 tells which; save the file with ISO dates (YYYY-MM-DD)"
        )
    return f"%d{sep}%m{sep}%Y" if day_first else f"%m{sep}%d{sep}%Y"


def _oldest_first(frame: pd.DataFrame, notes: list[str]) -> pd.DataFrame:
    """A file saved newest first, as several sites do, is reversed; any other order is left for the gate."""
    dates = pd.to_datetime(frame["Date"], errors="coerce")
    if len(dates) > 1 and dates.notna().all() and dates.is_monotonic_decreasing and dates.is_unique:
        notes.append(f"newest first: reversed to oldest first ({dates.iloc[-1].date()} .. {dates.iloc[0].date()})")
        return frame.iloc[::-1]
    return frame


TICKER_ALIASES = {"ticker", "symbol", "name", "code", "instrument"}  # a long file's ticker column, lowercased


def canonical_long(raw: pd.DataFrame, where: str) -> Normalised:
    """A long file of many tickers (a date column, a ticker column, OHLCV under the usual spellings) -> `Ticker, Date,
    Open, High, Low, Close[, Adj Close], Volume`, tickers as stored (lower case, an exchange suffix such as `.US`
    dropped), numbers and dates parsed (a cell that does not read is missing, and the gate names its bar)."""
    notes: list[str] = []
    by_key = {_key(c): c for c in raw.columns}
    ticker_col = next((by_key[k] for k in by_key if k in TICKER_ALIASES), None)
    if ticker_col is None:
        raise PriceFileError(f"{where}: no ticker column (one of {', '.join(sorted(TICKER_ALIASES))}) among "
                             f"{', '.join(map(str, raw.columns))}")  # fmt: skip
    frame = _stooq_columns(_map_columns(raw.drop(columns=[ticker_col]), notes), notes)
    if "Date" not in frame.columns:
        raise PriceFileError(f"{where}: no date column among {', '.join(map(str, raw.columns))}")
    frame.insert(0, "Ticker", ticker_names(raw[ticker_col]))
    if frame["Date"].dtype.kind in "iu" or frame["Date"].astype(str).str.fullmatch(r"\d{8}").all():
        frame["Date"] = pd.to_datetime(frame["Date"].astype(str), format="%Y%m%d", errors="coerce")
    else:
        frame["Date"] = pd.to_datetime(frame["Date"], errors="coerce", format="ISO8601")
    for col in (c for c in VALUES if c in frame.columns):
        if not pd.api.types.is_numeric_dtype(frame[col]):
            frame[col] = pd.to_numeric(frame[col], errors="coerce")
    ordered = ["Ticker", *(c for c in COLUMNS if c in frame.columns)]
    return Normalised(frame[ordered].reset_index(drop=True), notes)


def ticker_names(names: pd.Series) -> pd.Series:
    """Tickers as stockflow stores them: lower case, Stooq's exchange suffix (`AAPL.US`) dropped."""
    return names.astype(str).str.strip().str.lower().str.replace(r"\.(us|uk|de|jp|hk|hu|pl)$", "", regex=True)
