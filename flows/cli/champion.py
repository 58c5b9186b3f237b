"""The champion at work: `stockflow serve`, `predict` and `monitor`."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Annotated, Optional

import typer

from flows.cli.base import Root, Ticker, chosen_subject, command, setup, workspace

Universe = Annotated[
    Optional[str], typer.Option(help="A universe of params.yaml's `universes`: its champion, not a ticker's.")
]


@command
def serve(
    ticker: Ticker = None,
    universe: Universe = None,
    root: Root = None,
    host: Annotated[str, typer.Option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 5001,
) -> None:
    """Serve the champion over HTTP with MLflow's scoring server (POST /invocations; GET /ping).

    Post the latest daily bars, oldest first, as a CSV reads them (columns Date, Open, High, Low,
    Close, Volume), in MLflow's JSON (`{"dataframe_split": ...}`) or as text/csv; the answer has one
    row per day with a full window: date, close, forecast, expected_return, signal, lower, upper. The
    last row is tomorrow's, as `stockflow predict` gives it. Serves the version that is champion when
    it starts. Exit code 1: no champion.

    With --universe NAME: stockflow-universe-NAME's champion; post the rows of all its tickers with a
    Ticker column (Date, Close, and Open when the files have one); the answer has date, ticker, score and
    weight (the portfolio's target for the next session).
    """
    setup()
    from tasks.commands.serve import scoring_server

    ws = workspace(root)
    params = ws.load_params()
    kind, name = chosen_subject(ticker, universe, params)
    key = kind.registered(name)
    command_line, env, what = scoring_server(ws, params, key, host, port)
    typer.echo(f"serving {what} on http://{host}:{port}/invocations (Ctrl-C stops)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command_line[0], command_line, env)  # MLflow's server in this process: Ctrl-C and signals are its


@command
def predict(
    ticker: Ticker = None,
    universe: Universe = None,
    all_tickers: Annotated[bool, typer.Option("--all", help="Every price file in data/, one line each.")] = False,
    root: Root = None,
    allow_stale: Annotated[
        bool, typer.Option("--allow-stale", help="Forecast even if the last bar is older than predict.max_stale_days.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecast as JSON.")] = False,
) -> None:
    """The champion's forecast for the next trading day: price, return, signal, and the interval the next close
    should fall in (evaluate.interval_level, 90% by default; --json: lower, upper, level).

    Uses models:/stockflow-TICKER@champion and data/TICKER.csv (validated first), and names the
    model version, its data version and its training date. Exit code 1: no champion, invalid or stale
    data (with --all: for any ticker; the others are still forecast); 2: unreadable params or price file.

    With --universe NAME: tomorrow's target portfolio of stockflow-universe-NAME's champion from its tickers'
    files: the names held and their weights, every ticker's score (--json: holdings, scores).
    """
    setup()
    import json

    from stockflow.errors import UsageError
    from tasks.commands.predict import next_day

    ws = workspace(root)
    params = ws.load_params()
    if not all_tickers:
        kind, name = chosen_subject(ticker, universe, params)
        result = kind.predict(ws, params, name, allow_stale)
        typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.to_text())
        return
    if ticker is not None or universe is not None:
        raise UsageError("give --all alone: every ticker's champion")
    found, failed = _every_ticker(ws, lambda name: next_day(ws, params, name, allow_stale))
    if as_json:
        typer.echo(json.dumps({"forecasts": {k: v.to_dict() for k, v in found.items()}, "failed": failed}, indent=2))
    else:
        typer.echo(f"  {'ticker':<12}{'model':>8}{'last bar':>12}{'close':>12}{'for':>12}{'forecast':>12}{'return':>9}"
                   f"{'signal':>8}{'interval':>26}")  # fmt: skip
        for name, r in found.items():
            side = {1: "long", 0: "flat", -1: "short"}[r.signal]
            band = "n/a" if r.lower is None else f"{r.level:.0%}: {r.lower:,.2f} .. {r.upper:,.2f}"
            typer.echo(f"  {name:<12}{'v' + str(r.version):>8}{r.last_date:>12}{r.last_close:>12,.2f}"
                       f"{r.target_date:>12}{r.forecast:>12,.2f}{r.expected_return:>+9.2%}{side:>8}"
                       f"{band:>26}")  # fmt: skip
        for name, why in failed.items():
            typer.echo(f"  {name:<12}no forecast: {why}")
    if failed:
        raise typer.Exit(1)


@command
def monitor(
    ticker: Ticker = None,
    universe: Universe = None,
    all_tickers: Annotated[bool, typer.Option("--all", help="Every price file in data/ that has a champion.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object (--all: one per ticker).")] = False,
    root: Root = None,
) -> None:
    """Is the champion still better than persistence, and do its intervals still cover, on its live days?

    Its live days are the bars of data/TICKER.csv after the last bar it was trained on; the
    registered model forecasts each of them from the bars before. Prints the live MAE against
    persistence beside the ratio on its test window, the decay test (a CUSUM calibrated on the
    test window), the live coverage of its interval (Kupiec's test), input drift (log returns and
    20-day volatility: PSI and KS) and the verdict: ok, decayed, miscovered, drifted or too few days
    (params.yaml: monitor). Each check is an MLflow run of
    the `stockflow-monitor` experiment and tags the model version. Trains nothing and raises no
    alarm: the `monitor` deployment does that (prefect.yaml). Exit code 1: no champion, a version
    too old to monitor, or data that fails validation (with --all: for any ticker).

    With --universe NAME: stockflow-universe-NAME's champion on its live days: their Rank IC against its test
    window's, a decay test (a CUSUM on the daily Rank IC), and its live portfolio against equal weight.
    """
    setup()
    import json

    from stockflow.errors import UsageError
    from tasks.commands.monitor import check
    from tasks.services.files import strict

    ws = workspace(root)
    params = ws.load_params()
    if not all_tickers:
        kind, name = chosen_subject(ticker, universe, params)
        checked = kind.check(ws, params, name)
        typer.echo(json.dumps(checked.report, indent=2) if as_json else checked.text)
        return
    if ticker is not None or universe is not None:
        raise UsageError("give --all alone: every ticker's champion")
    found, failed = _every_ticker(ws, lambda name: check(ws, params, name))
    if as_json:
        checks = {name: strict(report.to_dict()) for name, report in found.items()}
        typer.echo(json.dumps({"checks": checks, "failed": failed}, indent=2))
    else:
        for report in found.values():
            typer.echo(report.text() + "\n")
        for name, why in failed.items():
            typer.echo(f"{name}: not checked: {why}")
    if failed:
        raise typer.Exit(1)


def _every_ticker(ws, fn: Callable) -> tuple[dict, dict]:
    """`fn` for every price file in data/: results by ticker, and the first line of each user error by ticker."""
    from stockflow.errors import StockflowError
    from tasks.commands.watchlist import tickers_in

    found, failed = {}, {}
    for name in tickers_in(ws.root):
        try:
            found[name] = fn(name)
        except StockflowError as exc:
            failed[name] = str(exc).splitlines()[0]
    return found, failed
