"""`stockflow predict`: the champion's forecast for the next trading day, from the latest validated data."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass

import pandas as pd

from stockflow.config import Params
from stockflow.data.prices import REQUIRED, next_session
from stockflow.errors import PredictError, StockflowError, check_ticker
from tasks.services import tracking
from tasks.services.tracking import tracker_for
from tasks.services.workspace import Workspace
from tasks.stages.validate import validated_prices


@dataclass(frozen=True)
class NextDay:
    """The champion's forecast for the next trading day, with the model and data it came from."""

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
    monitor: str = "never checked (`stockflow monitor`)"
    calendar: str = "XNYS"
    # The interval for the next close at `level` (None for a champion registered before intervals).
    lower: float | None = None
    upper: float | None = None
    level: float | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    def _interval_line(self) -> list[str]:
        if self.lower is None or self.upper is None:
            return ["  interval      none: this champion was registered before intervals (retrain to get one)"]
        return [
            f"  {self.level:.0%} interval  {self.lower:,.2f} .. {self.upper:,.2f}"
            f"  ({self.lower / self.last_close - 1:+.2%} .. {self.upper / self.last_close - 1:+.2%})"
        ]

    def to_text(self) -> str:
        side = {1: "long", 0: "flat", -1: "short"}[self.signal]
        return "\n".join(
            [
                f"{self.model} v{self.version} (champion), trained {self.trained_at}, data version {self.data_version}",
                f"  last bar      {self.last_date}   close {self.last_close:,.2f}",
                f"  forecast for  {self.target_date}   close {self.forecast:,.2f}  ({self.expected_return:+.2%})"
                f"   (the next {self.calendar} session)",
                *self._interval_line(),
                f"  signal        {side}",
                f"  monitor: {self.monitor}",
            ]
        )


def _none_if_nan(value) -> float | None:
    return None if value is None or value != value else float(value)


def champion_of(ws: Workspace, params: Params, ticker: str, refusal: type[StockflowError], missing: str):
    """The ticker's price file, the registry and its champion's version; `refusal` if either is missing.

    `missing` ends the no-champion message (what the caller wanted the champion for).
    """
    path = ws.project_data_file(check_ticker(ticker))
    if not path.exists():  # checked first: a wrong --root must not create an MLflow store there
        raise refusal(f"{path} not found: `stockflow ingest` it first")
    return (path, *registry_champion(ws, params, ticker, refusal, missing))


def registry_champion(ws: Workspace, params: Params, key: str, refusal: type[StockflowError], missing: str):
    """The registry and the champion's version of `key` (a ticker, or `universe-NAME`); `refusal` if there is none."""
    tracker = tracker_for(ws.root, params)
    version = tracker.champion(key)
    if version is None:
        raise refusal(f"no champion for {tracking.model_name(key)} {missing}")
    return tracker, version


def next_day(ws: Workspace, params: Params, ticker: str, allow_stale: bool = False, today: dt.date | None = None):
    """The champion's forecast for the day after data/<ticker>.csv's last bar; PredictError if it cannot be honest."""
    path, tracker, version = champion_of(
        ws, params, ticker, PredictError, f"yet: `stockflow run --ticker {ticker}` trains one, and it becomes "
        "champion once it passes the gate (no worse than persistence)",
    )  # fmt: skip
    prices = validated_prices(ws, params, path, PredictError, "forecast")
    last = prices["Date"].iloc[-1].date()
    age = ((today or dt.date.today()) - last).days
    if age > params.predict.max_stale_days and not allow_stale:
        raise PredictError(
            f"{path} is stale: its last bar is {last}, {age} days ago (limit predict.max_stale_days = "
            f"{params.predict.max_stale_days}). Drop new bars in {params.data.drop_folder}/ and run the scheduled "
            "flow, or pass --allow-stale to forecast the day after the last bar anyway."
        )
    model = tracker.load_version(ticker, version.version)
    out = model.predict(prices[REQUIRED])
    meta = model.metadata.metadata or {}
    row = out.iloc[-1]
    tags = version.tags or {}
    return NextDay(
        ticker=ticker,
        model=tracking.model_name(ticker),
        version=int(version.version),
        trained_at=tags.get(tracking.TRAINED_AT, "unknown"),
        data_version=tags.get(tracking.DATA_VERSION, "unknown"),
        last_date=str(last),
        last_close=float(row["close"]),
        target_date=str(next_session(pd.Timestamp(last), params.predict.calendar).date()),
        calendar=params.predict.calendar,
        forecast=float(row["forecast"]),
        expected_return=float(row["expected_return"]),
        signal=int(row["signal"]),
        monitor=_last_check(tags),
        lower=_none_if_nan(row.get("lower")),
        upper=_none_if_nan(row.get("upper")),
        level=_level(row, meta),
    )


def _level(row: pd.Series, meta: dict) -> float | None:
    """The interval's level, as the forecaster gives it (a model registered before that named it in its metadata)."""
    if "level" in row:
        return _none_if_nan(row["level"])
    return float(meta["interval_level"]) if "lower" in row and "interval_level" in meta else None


def _last_check(tags: dict) -> str:
    """The last monitor verdict on the champion, as predict shows it beside the forecast."""
    verdict = tags.get(tracking.MONITOR_VERDICT)
    if verdict is None:
        return NextDay.monitor
    return (
        f"{verdict} (live MAE/persistence {tags.get(tracking.MONITOR_RATIO, 'n/a')}, checked "
        f"{tags.get(tracking.MONITOR_AT, '?')})"
    )
