"""Research on history: `stockflow backtest` (any signals) and `stockflow replay` (retraining policies)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.base import Preset, Root, Sets, Ticker, chosen_ticker, command, setup, workspace


@command
def backtest(
    prices: Annotated[Path, typer.Option("--prices", help="Daily OHLC CSV (Date,Open,High,Low,Close,...).")],
    signals: Annotated[
        Path, typer.Option("--signals", help="CSV of Date and one column of 1 (long), 0 (flat), -1 (short).")
    ],
    stop_loss: Annotated[
        Optional[float], typer.Option(help="Fraction of the fill price, e.g. 0.05. Default: off.")
    ] = None,
    take_profit: Annotated[
        Optional[float], typer.Option(help="Fraction of the fill price, e.g. 0.10. Default: off.")
    ] = None,
    commission: Annotated[
        Optional[float],
        typer.Option(help="Fraction of traded value, per fill. Default: backtest.commission's default, 0.001."),
    ] = None,  # fmt: skip
    slippage: Annotated[
        Optional[float], typer.Option(help="Adverse fraction of the fill price, on market fills. Default: 0.0005.")
    ] = None,  # fmt: skip
    cash: Annotated[Optional[float], typer.Option(help="Starting equity. Default: 10000.")] = None,
    risk_free_rate: Annotated[Optional[float], typer.Option(help="Annual, for Sharpe and Sortino. Default: 0.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the metrics as JSON.")] = False,
) -> None:
    """Backtest signals from anywhere under stockflow's execution rules, beside Buy-and-Hold.

    The signal dated t is decided at t's close and fills at the next open; stops are
    fractions of the fill price and live from the entry bar (README, "Backtest rules").
    -1 needs no flag: a file with short signals trades them. Exit code 2: bad input.
    """
    setup()
    import json

    from stockflow.config import BacktestParams
    from stockflow.errors import ParamsError, UsageError
    from stockflow.reporting.summary import strategy_table
    from stockflow.trading.backtest import Rules
    from tasks.commands.signals import backtest_files

    for flag, value in (("--stop-loss", stop_loss), ("--take-profit", take_profit)):
        if value is not None and value <= 0:
            raise UsageError(f"{flag} must be a positive fraction, got {value}")
    given = {"cash": cash, "commission": commission, "slippage": slippage, "risk_free_rate": risk_free_rate}
    try:
        p = BacktestParams(stop_loss=stop_loss, take_profit=take_profit, allow_short=True,
                           **{k: v for k, v in given.items() if v is not None})  # fmt: skip
    except ValueError as exc:  # pydantic: a value out of range
        raise ParamsError(str(exc).splitlines()[0] + ": " + str(exc).splitlines()[-1].strip()) from None
    metrics = backtest_files(prices, signals, Rules.from_params(p), p.risk_free_rate)
    if as_json:
        from tasks.services.files import strict

        typer.echo(json.dumps(strict(metrics), indent=2))
        return
    typer.echo(f"{signals.name} on {prices.name}, {metrics['start']} .. {metrics['end']}")
    typer.echo(strategy_table([("signals", metrics["strategy"]), ("buy and hold", metrics["buy_and_hold"])]))


@command
def replay(
    ticker: Ticker = None,
    universe: Annotated[
        Optional[str],
        typer.Option(
            help="A universe instead: retrain every --every (default 12M) from --start (default "
            "2010-01-01) on the years before, test the step after; the out-of-sample scores stitched."
        ),
    ] = None,  # fmt: skip
    start: Annotated[Optional[str], typer.Option(help="First as-of date (YYYY-MM-DD). Default: 2015-01-01.")] = None,
    every: Annotated[
        Optional[str], typer.Option(help="Retraining interval: a count and D, W, M or Y, e.g. 3M. Default: 3M.")
    ] = None,
    policy: Annotated[
        Optional[list[str]],
        typer.Option(
            "--policy",
            "-p",
            help="Compare retraining policies instead: every:3M, alarm, once (repeatable, "
            "or comma-separated; `all` for the three).",
        ),
    ] = None,  # fmt: skip
    end: Annotated[Optional[str], typer.Option(help="Stop trading here (default: the last bar).")] = None,
    workers: Annotated[int, typer.Option(help="--universe: segments trained at once.", min=1)] = 1,
    runner: Annotated[str, typer.Option(help="--universe: local (processes here) or dask (a LocalCluster).")] = "local",
    dask_address: Annotated[Optional[str], typer.Option(help="--universe: a running Dask scheduler instead.")] = None,
    preset: Preset = None,
    sets: Sets = None,
    root: Root = None,
) -> None:
    """Simulate retraining over history: does retraining pay, and on a clock or on the monitor's evidence?

    Without --policy: train at each as-of date (--start, --every) on data up to it, gate, and let the
    champion trade until the next; prints each step and "always the current champion" against "train
    once" and Buy-and-Hold. With --policy: the policies side by side, day by day from --start: `every:3M`
    retrains on a clock, `alarm` when the monitor's tests (stockflow monitor) say decayed or drifted,
    `once` never; for each, the stitched out-of-sample MAE ratio to persistence, the Sharpe net of costs,
    the retrains and the alarms, and a plot. With --universe: one retrain per step (in parallel with
    --workers), validated on the step before it; the stitched Rank IC with its t, per segment, and every
    scorer's portfolio net of costs beside equal weight. The registry is not touched; each replay is an
    MLflow run with a child run per step, policy or segment.
    """
    setup()
    from stockflow.champion.replay import as_of_dates, parse_every
    from stockflow.errors import UsageError
    from tasks.services.files import read_price_file

    ws = workspace(root)
    sets = ([f"preset={preset}"] if preset else []) + list(sets or [])
    params = ws.load_params(sets)
    if universe:
        return _replay_universe(ws, params, universe, start or "2010-01-01", every or "12M", end, sets or [],
                                (runner, workers, dask_address))  # fmt: skip
    start, every = start or "2015-01-01", every or "3M"
    name = chosen_ticker(ticker, params)
    if policy:
        import pandas as pd

        from stockflow.champion.policies import parse_policy

        chosen = [p.strip() for text in policy for p in text.split(",") if p.strip()]
        chosen = ["every:3M", "alarm", "once"] if chosen == ["all"] else chosen
        try:
            for text in chosen:
                parse_policy(text)
            prices = read_price_file(ws.project_data_file(name))
            if not prices["Date"].min() < pd.Timestamp(start) < prices["Date"].max():
                raise ValueError(f"--start {start} must lie inside the data ({prices['Date'].min().date()} .. "
                                 f"{prices['Date'].max().date()})")  # fmt: skip
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        from flows.replay import replay_policies
        from flows.server import prefect_api
        from stockflow.reporting.summary import policies_summary

        with prefect_api():
            result = replay_policies(ticker=name, root=str(ws.root), policies=chosen, start=start, end=end,
                                     overrides=list(sets or []), progress=True)  # fmt: skip
        typer.echo(policies_summary(result))
        typer.echo(f"\n  MLflow parent run: {result['run_id']}   (stockflow ui)")
        return
    try:  # bad dates or interval fail here, before any flow run starts
        parse_every(every)
        as_of_dates(read_price_file(ws.project_data_file(name)), start, every, end)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from flows.replay import replay as replay_flow
    from flows.server import prefect_api
    from stockflow.reporting.summary import replay_summary

    with prefect_api():
        result = replay_flow(ticker=name, root=str(ws.root), start=start, every=every, end=end,
                             overrides=list(sets or []))  # fmt: skip
    typer.echo(replay_summary(result))
    typer.echo(f"\n  MLflow parent run: {result['run_id']}   (stockflow ui)")


def _replay_universe(ws, params, universe: str, start: str, every: str, end: str | None, sets: list[str],
                     on: tuple[str, int, str | None]) -> None:  # fmt: skip
    """The universe's rolling replay on a task runner; its summary."""
    from flows.runners import task_runner
    from flows.server import prefect_api
    from stockflow.champion.replay import parse_every
    from stockflow.errors import UsageError
    from stockflow.reporting.summary import universe_replay_summary
    from tasks.stages.universe_validate import tickers_of

    runner, workers, address = on
    try:
        parse_every(every)
        count, unit = int(every.strip()[:-1]), every.strip()[-1].upper()
        if unit not in "MY":
            raise ValueError(f"--every {every!r}: a universe retrains in months or years, e.g. 12M or 1Y")
        months = count * (12 if unit == "Y" else 1)
        if runner not in ("local", "dask"):
            raise ValueError(f"--runner {runner!r}: use local or dask")
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    tickers = tickers_of(params, universe)  # undefined, or fewer than two tickers: said before anything starts
    try:  # dates that leave no segment: said before the data gate and the features run
        import numpy as np
        import pandas as pd

        from stockflow.universe.rolling import segments

        dates = np.unique(np.concatenate([pd.read_csv(ws.project_data_file(t), usecols=["Date"])["Date"].to_numpy()
                                          for t in tickers if ws.project_data_file(t).is_file()]))  # fmt: skip
        segments(pd.to_datetime(dates).to_numpy(), start, months, end)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    from flows.replay import replay_universe

    with prefect_api():
        flow = replay_universe.with_options(task_runner=task_runner(runner, workers, address))
        result = flow(universe=universe, root=str(ws.root), start=start, months=months, end=end, overrides=sets,
                      progress=True)  # fmt: skip
    typer.echo(universe_replay_summary(result))
    typer.echo(f"\n  MLflow parent run: {result['run_id']}   (stockflow ui)")
