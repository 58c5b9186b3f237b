"""`stockflow predict`: the champion's forecast for the next trading day, from the latest validated data."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd

from stockflow.config import Params
from tasks import registry, tracking
from tasks.prices_io import read_price_file
from tasks.project import Project
from tasks.validate import check_frame


class PredictError(Exception):
    """No forecast can be given honestly (no champion, no or invalid data, stale data)."""


@dataclass(frozen=True)
class NextDay:
    ticker: str
    model: str
    version: int
    trained_at: str
    data_version: str
    last_date: str
    last_close: float
    target_date: str
    forecast: float
    expected_return: float
    signal: int

    def to_dict(self) -> dict:
        return asdict(self)

    def to_text(self) -> str:
        side = {1: "long", 0: "flat", -1: "short"}[self.signal]
        return "\n".join(
            [
                f"{self.model} v{self.version} (champion), trained {self.trained_at}, data version {self.data_version}",
                f"  last bar      {self.last_date}   close {self.last_close:,.2f}",
                f"  forecast for  {self.target_date}   close {self.forecast:,.2f}  ({self.expected_return:+.2%})"
                "   (the next weekday; exchange holidays are not modelled)",
                f"  signal        {side}",
            ]
        )


def next_day(project: Project, params: Params, ticker: str, allow_stale: bool = False, today: dt.date | None = None):
    path = project.data_file(ticker)
    if not path.exists():  # checked first: a wrong --root must not create an MLflow store there
        raise PredictError(f"{path} not found: `stockflow ingest` it first")
    tracking.configure(project, params)
    version = registry.champion_version(ticker)
    if version is None:
        raise PredictError(
            f"no champion for {registry.model_name(ticker)} yet: `stockflow run --ticker {ticker}` trains one, "
            "and it becomes champion once it passes the gate (no worse than persistence)"
        )
    prices = read_price_file(path)
    report = check_frame(project, params, prices, str(path))
    if not report.success:
        raise PredictError(report.to_text() + "\nNo forecast from data that fails validation.")
    last = prices["Date"].iloc[-1].date()
    age = ((today or dt.date.today()) - last).days
    if age > params.predict.max_stale_days and not allow_stale:
        raise PredictError(
            f"{path} is stale: its last bar is {last}, {age} days ago (limit predict.max_stale_days = "
            f"{params.predict.max_stale_days}). Drop new bars in {params.data.drop_folder}/ and run the scheduled "
            "flow, or pass --allow-stale to forecast the day after the last bar anyway."
        )
    out = registry.load_version(ticker, version.version).predict(registry.model_input(prices))
    row = out.iloc[-1]
    tags = version.tags or {}
    return NextDay(
        ticker=ticker,
        model=registry.model_name(ticker),
        version=int(version.version),
        trained_at=tags.get("stockflow.trained_at", "unknown"),
        data_version=tags.get("stockflow.data_version", "unknown"),
        last_date=str(last),
        last_close=float(row["close"]),
        target_date=str((pd.Timestamp(last) + pd.offsets.BDay(1)).date()),
        forecast=float(row["forecast"]),
        expected_return=float(row["expected_return"]),
        signal=int(row["signal"]),
    )
