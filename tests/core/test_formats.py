"""Price files as people download them: read into exactly the source's bars, what was normalised said, the
ambiguous refused, and every broken file the gate refuses still refused, with the file's own text in the message."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockflow.config import ValidateParams
from stockflow.data.prices import to_csv_text
from stockflow.data.validation import validate_prices
from stockflow.errors import PriceFileError
from tasks.services.files import read_download
from tests.core.test_validation_catalogue import CATALOGUE

REPO = Path(__file__).resolve().parents[2]
SUITE = json.loads((REPO / "expectations" / "ohlcv.json").read_text())
PARAMS = ValidateParams(min_rows=100)
OHLCV = ["Open", "High", "Low", "Close", "Volume"]


@pytest.fixture()
def source(small_prices) -> pd.DataFrame:
    """The bars every download below holds: 2016-2018 S&P 500, prices rounded to cents as sites give them."""
    bars = small_prices.copy()
    bars[["Open", "High", "Low", "Close", "Adj Close"]] = bars[["Open", "High", "Low", "Close", "Adj Close"]].round(2)
    return bars


def kaggle(bars: pd.DataFrame) -> str:
    """Kaggle's stock datasets: lowercase headers, ISO dates, a `Name` column."""
    out = bars[["Date", *OHLCV]].copy()
    out.columns = [c.lower() for c in out.columns]
    out["Name"] = "SPX"
    out["date"] = out["date"].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def nasdaq_com(bars: pd.DataFrame) -> str:
    """nasdaq.com's historical-data download: Close/Last, `$` prices, MM/DD/YYYY, newest first."""
    dollars = {c: bars[c].map("${:.2f}".format) for c in ("Close", "Open", "High", "Low")}
    out = pd.DataFrame({"Date": bars["Date"].dt.strftime("%m/%d/%Y"), "Close/Last": dollars.pop("Close"),
                        "Volume": bars["Volume"], **dollars})  # fmt: skip
    return out.iloc[::-1].to_csv(index=False, lineterminator="\r\n")


def yahoo_with_nulls(bars: pd.DataFrame) -> tuple[str, list[str]]:
    """Yahoo's export with a row of `null` on days it has no data for."""
    lines = to_csv_text(bars).splitlines()
    days = ["2016-07-04", "2017-12-25"]  # holidays: no bars, rows of null
    for day in days:
        at = next(i for i, line in enumerate(lines[1:], 1) if line[:10] > day)
        lines.insert(at, f"{day},null,null,null,null,null,null")
    return "\n".join(lines) + "\n", days


def stooq_bulk(bars: pd.DataFrame) -> str:
    """Stooq's bulk ASCII files: <TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,...,<VOL>,<OPENINT>, dates as YYYYMMDD."""
    out = pd.DataFrame({"<TICKER>": "^SPX", "<PER>": "D", "<DATE>": bars["Date"].dt.strftime("%Y%m%d"),
                        "<TIME>": "000000", "<OPEN>": bars["Open"], "<HIGH>": bars["High"], "<LOW>": bars["Low"],
                        "<CLOSE>": bars["Close"], "<VOL>": bars["Volume"], "<OPENINT>": 0})  # fmt: skip
    return out.to_csv(index=False, lineterminator="\n")


def stooq_download(bars: pd.DataFrame) -> str:
    """stooq.com's CSV download: Date,Open,High,Low,Close,Volume."""
    out = bars[["Date", *OHLCV]].copy()
    out["Date"] = out["Date"].dt.strftime("%Y-%m-%d")
    return out.to_csv(index=False, lineterminator="\n")


def read(tmp_path, text: str, name: str = "download.csv"):
    path = tmp_path / name
    path.write_bytes(text.encode())
    return read_download(path)


def same_bars(frame: pd.DataFrame, bars: pd.DataFrame, columns=OHLCV) -> None:
    assert list(frame["Date"]) == list(bars["Date"])
    for c in columns:
        np.testing.assert_array_equal(frame[c].to_numpy(dtype=float), bars[c].to_numpy(dtype=float), err_msg=c)


@pytest.mark.parametrize("form", [kaggle, nasdaq_com, stooq_bulk, stooq_download])
def test_a_download_reads_into_exactly_the_sources_bars_and_passes(tmp_path, source, form):
    got = read(tmp_path, form(source))
    same_bars(got.frame, source)
    assert list(got.frame.columns[:6]) == ["Date", *OHLCV]
    report = validate_prices(got.frame, SUITE, PARAMS, "download.csv")
    assert report.success, report.to_text()
    assert {f.rule.split(" (")[0] for f in report.warnings} == {"Adj Close is present"}  # none of them has it


def test_what_was_normalised_is_said(tmp_path, source):
    notes = read(tmp_path, nasdaq_com(source)).notes
    assert notes == [
        "columns mapped: Close/Last -> Close",
        "$ removed: Open, High, Low, Close",
        "dates read as MM/DD/YYYY",
        "newest first: reversed to oldest first (2016-01-04 .. 2018-12-31)",
    ]
    assert read(tmp_path, kaggle(source)).notes == [
        "columns mapped: date -> Date, open -> Open, high -> High, low -> Low, close -> Close, volume -> Volume",
        "column Name dropped (one ticker: SPX)",
    ]
    assert read(tmp_path, stooq_download(source)).notes == []


def test_yahoos_null_rows_are_dropped_by_date_and_the_rest_is_the_source(tmp_path, source):
    text, days = yahoo_with_nulls(source)
    got = read(tmp_path, text)
    same_bars(got.frame, source, [*OHLCV, "Adj Close"])
    assert got.notes == [f"2 row(s) without any value dropped ('null'): {days[0]}, {days[1]}"]
    assert to_csv_text(got.frame) == to_csv_text(source)  # what ingest writes: the canonical file of the bars


def test_a_newest_first_yahoo_file_is_the_same_data_oldest_first(tmp_path, source):
    lines = to_csv_text(source).splitlines()
    got = read(tmp_path, "\n".join([lines[0], *reversed(lines[1:])]) + "\n")
    assert to_csv_text(got.frame) == to_csv_text(source)


def test_day_first_dates_are_read_when_a_day_above_12_says_so(tmp_path, source):
    text = stooq_download(source).replace("-", "/")
    header, *rows = text.splitlines()
    day_first = "\n".join([header, *(f"{r[8:10]}/{r[5:7]}/{r[:4]}{r[10:]}" for r in rows)])
    got = read(tmp_path, day_first + "\n")
    same_bars(got.frame, source)
    assert "dates read as DD/MM/YYYY" in got.notes


def test_ambiguous_dates_are_refused_with_the_reason_never_guessed(tmp_path, source):
    first_days = source[source["Date"].dt.day <= 12].iloc[:40]  # no day above 12: 03/04/2016 is either
    newest = first_days["Date"].iloc[-1]  # nasdaq.com's first row
    m, d = newest.month, newest.day
    with pytest.raises(PriceFileError, match=rf"download.csv: dates are ambiguous: {m:02d}/{d:02d}/2016 could be day "
                                             rf"{m} of month {d} or day {d} of month {m}.*ISO dates"):  # fmt: skip
        read(tmp_path, nasdaq_com(first_days))


def test_a_file_of_several_tickers_is_refused(tmp_path, source):
    text = kaggle(source)
    text = text.replace("SPX\n", "AAL\n", 10)
    with pytest.raises(PriceFileError, match=r"column Name holds 2 tickers \(AAL, SPX\): one file per ticker"):
        read(tmp_path, text)


def test_a_cell_that_is_not_a_number_is_shown_as_the_file_has_it(tmp_path, source):
    text = nasdaq_com(source)
    cells = text.split("\r\n")
    cells[5] = cells[5].replace(cells[5].split(",")[4], "$27x1.10")  # High of the 5th newest bar
    got = read(tmp_path, "\r\n".join(cells))
    report = validate_prices(got.frame, SUITE, PARAMS, "download.csv")
    finding = next(f for f in report.errors if f.rule == "High is present and numeric on every row")
    assert finding.examples == [f"{source['Date'].iloc[-5]:%Y-%m-%d} High='$27x1.10'"]


def test_yahoos_null_in_a_bar_with_values_is_refused_and_shown(tmp_path, source):
    lines = to_csv_text(source).splitlines()
    day, *rest = lines[30].split(",")
    lines[30] = ",".join([day, rest[0], "null", *rest[2:]])
    report = validate_prices(read(tmp_path, "\n".join(lines) + "\n").frame, SUITE, PARAMS, "x.csv")
    finding = next(f for f in report.errors if f.rule == "High is present and numeric on every row")
    assert finding.examples == [f"{day} High='null'"]


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_every_broken_file_is_still_refused_by_its_rule(tmp_path, small_prices, name):
    breaker, rule = CATALOGUE[name]
    broken = breaker(small_prices.copy())
    if "Date" in broken.columns:
        broken["Date"] = pd.to_datetime(broken["Date"]).dt.strftime("%Y-%m-%d")  # NaT: an empty cell
    got = read(tmp_path, broken.to_csv(index=False, lineterminator="\n"), f"{name}.csv")
    report = validate_prices(got.frame, SUITE, PARAMS, f"{name}.csv")
    assert any(f.rule.startswith(rule) for f in report.errors), report.to_text()


def test_a_date_the_files_format_does_not_read_is_shown_as_written(tmp_path, source):
    lines = to_csv_text(source).splitlines()
    lines[40] = "2016-02-30" + lines[40][10:]
    report = validate_prices(read(tmp_path, "\n".join(lines) + "\n").frame, SUITE, PARAMS, "x.csv")
    finding = next(f for f in report.errors if f.rule == "every date parses")
    assert finding.examples == ["'2016-02-30'"]
