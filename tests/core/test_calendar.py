"""The next trading day of a forecast comes from the exchange's calendar, not the next weekday."""

from __future__ import annotations

import pandas as pd
import pytest

from stockflow.data.prices import next_session
from stockflow.errors import ParamsError


@pytest.mark.parametrize(
    ("last", "expected"),
    [
        ("2018-12-31", "2019-01-02"),  # New Year's Day
        ("2018-11-21", "2018-11-23"),  # Thanksgiving
        ("2018-12-21", "2018-12-24"),  # a Friday: the Monday
        ("2018-12-05", "2018-12-06"),  # markets closed for President Bush's funeral
    ],
)
def test_next_nyse_session(last, expected):
    assert next_session(pd.Timestamp(last)) == pd.Timestamp(expected)


def test_another_exchange_and_a_bad_name():
    assert next_session(pd.Timestamp("2018-12-24"), "XLON") == pd.Timestamp("2018-12-27")  # Christmas, Boxing Day
    with pytest.raises(ParamsError, match="not an exchange calendar"):
        next_session(pd.Timestamp("2018-12-24"), "NOPE")
