"""The daily OHLCV frame every stage works on, and its canonical CSV text.

The CSV text is canonical (fixed column order, shortest round-trip floats, "\n"
line endings) so the embedded default data regenerates byte-identically on a
fresh clone and DVC recognises it as the recorded version.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]
PRICE_COLUMNS = ["Open", "High", "Low", "Close"]
# What a forecast needs, in order: the registered model's input columns and the validation gate's required ones.
REQUIRED = ["Date", "Open", "High", "Low", "Close", "Volume"]


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Yahoo-style frame (Date as column or index) -> canonical columns, Date parsed.

    A missing `Adj Close` is left missing (the validation gate warns about it);
    other missing columns are left for the gate to report.
    """
    frame = frame.copy()
    if "Date" not in frame.columns and frame.index.name in ("Date", "date"):
        frame = frame.reset_index().rename(columns={"date": "Date"})
    frame.columns = [str(c).strip() for c in frame.columns]
    ordered = [c for c in COLUMNS if c in frame.columns]
    frame = frame[ordered + [c for c in frame.columns if c not in COLUMNS]]
    if "Date" in frame.columns:
        frame["Date"] = pd.to_datetime(frame["Date"], errors="coerce")
    return frame.reset_index(drop=True)


def to_csv_text(frame: pd.DataFrame) -> str:
    """Canonical CSV text: ISO dates, repr floats, Unix line endings."""
    out = frame.copy()
    out["Date"] = pd.to_datetime(out["Date"]).dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def next_dates(dates: pd.Series) -> dict:
    """Each date -> the next date in the series (the day a decision made at its close is about)."""
    dates = pd.Series(pd.to_datetime(dates)).reset_index(drop=True)
    return dict(zip(dates.iloc[:-1], dates.iloc[1:], strict=True))


def next_session(last: pd.Timestamp, calendar: str = "XNYS") -> pd.Timestamp:
    """The exchange's next trading session after `last` (holidays and weekends skipped), e.g. 2018-12-31 -> 2019-01-02.

    `calendar` is an `exchange_calendars` code (XNYS, XNAS, XLON, XETR, ...). Past the calendar's
    known sessions (a year ahead of today) it falls back to the next weekday.
    """
    import exchange_calendars as xcals

    from stockflow.errors import ParamsError

    day = pd.Timestamp(last).normalize()
    try:
        cal = xcals.get_calendar(calendar, start=min(day, pd.Timestamp.today().normalize()) - pd.Timedelta(days=10))
    except xcals.errors.InvalidCalendarName:
        raise ParamsError(
            f"predict.calendar: {calendar!r} is not an exchange calendar (XNYS, XNAS, XLON, ...)"
        ) from None
    after = day + pd.Timedelta(days=1)
    if after > cal.last_session:
        return day + pd.offsets.BDay(1)
    return cal.date_to_session(after, direction="next")
