"""The plug-in points: a strategy, a monitor statistic and a data source are each added by one object that declares
itself, named in params.yaml, and everything else (the run's table, the report, the record, the alarm, ingest)
follows from what it declares. (A model family: `gbm`, tests/tasks/test_registry.py.)"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow import monitors, strategies
from stockflow.champion import monitoring
from stockflow.champion.monitor_report import Report
from stockflow.config import BacktestParams, MonitorParams, parse_params
from tests.core.test_windows import forecasts, garch_prices


class AlwaysLong:
    """A strategy that holds through the test window: one module's worth of code."""

    name = "always_long"

    def applies(self, predictions, p):
        return True

    def trade(self, val, test, p):
        from stockflow.trading.backtest import Rules, buy_and_hold
        from stockflow.trading.performance import strategy_metrics

        held = buy_and_hold(test.bars, Rules.from_params(p))
        return strategies.Traded({self.name: strategy_metrics(held, p.cash)}, {self.name: held.equity})

    def rows(self, summary):
        return [("always long", summary)]

    def notes(self, summary):
        return ["  always long: a plug-in's own note"]


class Tested:
    """A monitor statistic that fires on every check."""

    name, verdict, once = "tested", "tested", False

    def check(self, ctx):
        return monitors.Finding(fired=True, figures={"tested_days": len(ctx.live)}, metrics={"Monitor/tested": 1.0},
                                lines=("  tested           fired",), reason="tested: it always fires")  # fmt: skip


@pytest.fixture()
def registered(monkeypatch):
    monkeypatch.setitem(strategies._strategies(), "always_long", AlwaysLong())
    monkeypatch.setitem(monitors._statistics(), "tested", Tested())


def test_a_strategy_named_in_params_is_traded_and_shown_with_its_own_rows(registered):
    from stockflow.reporting.summary import strategy_table

    prices = garch_prices(600, seed=1)
    pred = forecasts(prices).assign(split=np.where(np.arange(599) < 400, "val", "test"))
    p = parse_params({}, ["backtest.strategies=[strategy, always_long]"]).backtest
    report = strategies.trade_forecasts(prices, pred, p)
    assert report.metrics["strategies"] == ["strategy", "always_long"] and "always_long" in report.equity
    rows, notes = strategies.table_rows(report.metrics)
    assert [label for label, _ in rows] == ["model signals", "always long", "buy and hold"]
    assert notes == ["  always long: a plug-in's own note"] and "always long" in strategy_table(rows)
    with pytest.raises(ValueError, match="unknown strategy 'nope'"):
        BacktestParams(strategies=("nope",))


def test_a_monitor_statistic_named_in_params_decides_the_verdict_the_record_and_the_alarm(registered):
    prices = garch_prices(700, seed=2)
    days = monitoring.day_frame(prices, forecasts(prices)[["date", "forecast"]])
    windows = {"train": (days["date"].iloc[30], days["date"].iloc[300]),
               "test": (days["date"].iloc[301], days["date"].iloc[599])}  # fmt: skip
    p = MonitorParams(statistics=("tested", "decay"), bootstrap_samples=60)
    check, _ = monitoring.check(days, monitoring.model_inputs(prices), windows, days["date"].iloc[600], p)
    assert check.verdict == "tested" and check.figures["tested_days"] == check.live_days
    report = Report.made("acme", 3, check, set(), None, 63, data_through="2020-01-01", trained_at="-",
                         champion_run_id=None, strategy={}, checked_at="-")  # fmt: skip
    assert report.alarm and report.event == "stockflow.champion.tested" and report.reason() == "tested: it always fires"
    assert report.payload()["tested_days"] == check.live_days and report.metrics()["Monitor/tested"] == 1.0
    assert "  tested           fired" in report.text() and "decay (CUSUM)" in report.text()
    with pytest.raises(ValueError, match="unknown monitor statistic"):
        MonitorParams(statistics=("nope",))


def test_a_source_names_its_series_and_ingest_takes_them_all(project_dir, monkeypatch):
    from tasks import sources
    from tasks.commands.ingest import ingest
    from tasks.services.workspace import Workspace

    class Pair:
        kind, help = "pair", "pair:ANY (two copies of the project's series)"

        def load(self, arg):
            from stockflow.data.formats import Normalised

            frame = pd.read_csv(project_dir / "data" / "sp500.csv", parse_dates=["Date"])
            return [sources.Loaded(name, Normalised(frame), f"pair {name}") for name in ("left", "right")]

    monkeypatch.setitem(sources._sources(), "pair", Pair())
    ws = Workspace.project(project_dir)
    written = ingest(ws, ws.load_params(), "pair:x")
    assert [p.name for p in written] == ["left.csv", "right.csv"]
    with pytest.raises(Exception, match="holds 2 series"):
        ingest(ws, ws.load_params(), "pair:x", "one")
    with pytest.raises(Exception, match="pair:ANY"):  # an unknown source names every source there is
        ingest(ws, ws.load_params(), "nope:x")
