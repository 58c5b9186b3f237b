"""A catalogue of broken price files: each defect is reported by exactly the rule that guards it."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stockflow.config import ValidateParams
from stockflow.data.validation import validate_prices

REPO = Path(__file__).resolve().parents[2]
SUITE = json.loads((REPO / "expectations" / "ohlcv.json").read_text())
PARAMS = ValidateParams(min_rows=100)


def _set(col, row, value):
    def f(df):
        df.loc[row, col] = value
        return df

    return f


def _drop_rows(lo, hi):
    return lambda df: df.drop(index=range(lo, hi)).reset_index(drop=True)


def _future(df):
    df.loc[len(df) - 1, "Date"] = pd.Timestamp(dt.date.today() + dt.timedelta(days=30))
    return df


def _unsorted(df):
    df.loc[[10, 11], "Date"] = df.loc[[11, 10], "Date"].to_numpy()
    return df


def _duplicate(df):
    df.loc[20, "Date"] = df.loc[19, "Date"]
    return df


def _x100(df):
    df.loc[50:52, ["Open", "High", "Low", "Close"]] *= 100
    return df


def _unadjusted_split(df):
    df.loc[:99, ["Open", "High", "Low", "Close"]] *= 2  # rows before a 2:1 split left unadjusted
    return df


def _drop_col(col):
    return lambda df: df.drop(columns=[col])


def _text_value(df):
    df["Close"] = df["Close"].astype(object)
    df.loc[30, "Close"] = "n/a"
    return df


def _text_volume(df):
    df["Volume"] = df["Volume"].astype(object)
    df.loc[31, "Volume"] = "n/a"
    return df


def _several(df):
    df = _set("Low", 5, -1.0)(df)
    df = _duplicate(df)
    return _drop_col("Volume")(df)


CATALOGUE = {
    "null close": (_set("Close", 40, np.nan), "Close is present and numeric on every row"),
    "null open": (_set("Open", 41, np.nan), "Open is present and numeric on every row"),
    "non-numeric close": (_text_value, "Close is present and numeric on every row"),
    "unparseable date": (_set("Date", 42, pd.NaT), "every date parses"),
    "zero price": (_set("Open", 43, 0.0), "Open is strictly positive"),
    "negative low": (_set("Low", 44, -3.0), "Low is strictly positive"),
    "negative volume": (_set("Volume", 45, -10), "Volume is not negative"),
    "non-numeric volume": (_text_volume, "Volume is present and numeric on every row"),
    "high below low": (lambda df: _set("High", 46, df.loc[46, "Low"] - 1)(df), "High >= Low"),
    "high below close": (lambda df: _set("High", 47, df.loc[47, "Close"] * 0.99)(df), "High >= Close"),
    "low above open": (lambda df: _set("Low", 48, df.loc[48, "Open"] * 1.01)(df), "Open >= Low"),
    "close below low": (lambda df: _set("Close", 49, df.loc[49, "Low"] * 0.99)(df), "Close >= Low"),
    "high below open": (lambda df: _set("High", 50, df.loc[50, "Open"] * 0.99)(df), "High >= Open"),
    "duplicated date": (_duplicate, "dates are unique"),
    "unsorted dates": (_unsorted, "dates are strictly increasing"),
    "too short": (lambda df: df.iloc[:50].copy(), "enough rows for the lookback window and a test window"),
    "price x100": (_x100, "daily close-to-close return within the bound"),
    "unadjusted split": (_unadjusted_split, "daily close-to-close return within the bound"),
    "missing month": (_drop_rows(200, 225), "no gap between consecutive dates longer than validate.max_gap_days"),
    "date in the future": (_future, "the last date is not in the future"),
    "missing Close column": (_drop_col("Close"), "required column Close is present"),
    "missing Date column": (_drop_col("Date"), "required column Date is present"),
}


@pytest.fixture(scope="module")
def clean(sp500_module) -> pd.DataFrame:
    return sp500_module


@pytest.fixture(scope="module")
def sp500_module():
    from arch.data import sp500

    from stockflow.data.prices import normalise

    df = normalise(sp500.load())
    return df[df["Date"] >= "2017-01-01"].reset_index(drop=True)


def test_clean_real_file_passes(clean):
    report = validate_prices(clean, SUITE, PARAMS, "clean.csv")
    assert report.success, report.to_text()
    assert report.checked == len(SUITE["expectations"])


@pytest.mark.parametrize("name", sorted(CATALOGUE))
def test_each_defect_is_reported_by_its_rule(clean, name):
    breaker, rule = CATALOGUE[name]
    report = validate_prices(breaker(clean.copy()), SUITE, PARAMS, f"{name}.csv")
    assert not report.success
    assert any(f.rule.startswith(rule) for f in report.errors), report.to_text()


def test_row_level_findings_name_dates_and_values(clean):
    report = validate_prices(_set("Close", 40, -5.0)(clean.copy()), SUITE, PARAMS, "x.csv")
    finding = next(f for f in report.errors if f.rule == "Close is strictly positive")
    date = clean.loc[40, "Date"].strftime("%Y-%m-%d")
    assert finding.count == 1 and finding.column == "Close"
    assert finding.examples == [f"{date} Close=-5"]


def test_several_defects_are_all_reported(clean):
    report = validate_prices(_several(clean.copy()), SUITE, PARAMS, "several.csv")
    rules = {f.rule for f in report.errors}
    assert {"Low is strictly positive", "dates are unique", "required column Volume is present"} <= rules


def test_missing_adj_close_and_holiday_gaps_only_warn(clean):
    df = _drop_col("Adj Close")(clean.copy())
    df = _drop_rows(100, 103)(df)  # a 5-business-day gap: 7 calendar days
    report = validate_prices(df, SUITE, PARAMS, "warn.csv")
    assert report.success, report.to_text()
    assert {f.rule.split(" (")[0] for f in report.warnings} == {
        "Adj Close is present",
        "no gap between consecutive dates longer than validate.warn_gap_days",
    }


def test_thresholds_come_from_params(clean):
    df = _x100(clean.copy())
    assert validate_prices(df, SUITE, ValidateParams(min_rows=100, max_abs_return=200.0), "x.csv").success
    assert not validate_prices(clean, SUITE, ValidateParams(min_rows=10_000), "x.csv").success
