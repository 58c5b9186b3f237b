"""The `stockflow` command. Heavy libraries load inside each command, so `--help` is instant.

Errors a user can act on (`stockflow.errors`) are mapped to a message and an exit
code in one place, `command`: 1 for a refused input or a failed check, 2 for a
wrong request, 128 + N for signal N (130 for Ctrl-C, 143 for SIGTERM). Anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="LSTM stock forecasts and an honest backtest, as a tracked, reproducible pipeline.\n\n"
    "Typical day: `stockflow run` (retrain on data/<ticker>.csv and gate the new model), `stockflow predict` "
    "(tomorrow's forecast from the champion), `stockflow runs` or `stockflow ui` to compare runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Root = Annotated[
    Optional[Path],
    typer.Option(
        "--root", help="Project folder (holds params.yaml). Default: $STOCKFLOW_ROOT, else the current folder.",
        show_default=False,
    ),
]  # fmt: skip
Ticker = Annotated[
    Optional[str],
    typer.Option(
        "--ticker", "-t", help="Ticker name: data/NAME.csv. Default: the first of data.tickers in params.yaml."
    ),
]
Sets = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a param for this run only, e.g. --set train.epochs=3 (repeatable)."),
]


def _setup(verbose: bool = False) -> None:
    from tasks.services.process import quiet

    quiet(verbose)


def _workspace(root: Path | None):
    from tasks.services.workspace import Workspace, project_root

    return Workspace.project(project_root(root))


def _ticker(given: str | None, params) -> str:
    """The ticker given on the command line (checked: a name, not a path), else the watchlist's first."""
    from stockflow.errors import check_ticker

    return check_ticker(given) if given is not None else params.data.tickers[0]


def _echo_error(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)


def command(fn: Callable) -> Callable:
    """Register a command whose user errors and signals become a message and an exit code, without a traceback."""

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        from stockflow.errors import DataValidationError, Interrupted, StockflowError

        try:
            return fn(*args, **kwargs)
        except DataValidationError as exc:
            _echo_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except StockflowError as exc:
            _echo_error(f"stockflow: {exc}")
            raise typer.Exit(exc.exit_code) from None
        except Interrupted as exc:
            _interrupted(exc.signal_name)
            raise typer.Exit(exc.exit_code) from None
        except BaseException as exc:
            if type(exc).__name__ == "TerminationSignal":  # Prefect's form of SIGTERM, raised inside a flow
                _interrupted("SIGTERM")
                raise typer.Exit(143) from None
            if _prefect_api_gone(exc):
                from prefect.settings import PREFECT_API_URL

                _echo_error(f"stockflow: the Prefect API {PREFECT_API_URL.value()} stopped answering ({exc}): the "
                            "run stopped, and its MLflow run says so (FAILED, with the reason).")  # fmt: skip
                _skip_exit_hooks()
                raise typer.Exit(1) from None
            raise

    return app.command()(guarded)


_exit_now = False


def _prefect_api_gone(exc: BaseException) -> bool:
    if "httpx" not in sys.modules:  # nothing spoke to Prefect's API
        return False
    from tasks.services.execution import prefect_api_gone

    return prefect_api_gone(exc)


def _interrupted(signal_name: str) -> None:
    _echo_error(f"stockflow: interrupted by {signal_name}; the run is marked FAILED and nothing was registered.")
    _skip_exit_hooks()


def _skip_exit_hooks() -> None:
    """Exit without the libraries' exit hooks (about 2 s) once the run is closed and the Prefect server stopped."""
    global _exit_now
    _exit_now = True


@command
def ingest(
    source: Annotated[
        str,
        typer.Option(
            help="sample:sp500 or sample:nasdaq (embedded real data), or csv:PATH: a daily CSV as "
            "Yahoo, Kaggle, nasdaq.com or Stooq give it (read as-is; what is normalised is said)."
        ),
    ] = "sample:sp500",
    ticker: Annotated[
        Optional[str],
        typer.Option(
            "--ticker", "-t", help="Store as data/TICKER.csv. Default: the sample's name, or the CSV file's name."
        ),
    ] = None,  # fmt: skip
    root: Root = None,
) -> None:
    """Validate a price file, copy it to data/TICKER.csv and record it as a new DVC data version.

    A file that fails validation is refused: data/ and data.dvc stay exactly as they were.
    """
    _setup()
    from stockflow.errors import check_ticker
    from tasks.commands.ingest import default_ticker
    from tasks.commands.ingest import ingest as do_ingest

    name = check_ticker(ticker) if ticker is not None else default_ticker(source)
    ws = _workspace(root)
    notes: list[str] = []
    path = do_ingest(ws, ws.load_params(), source, name, notes)
    for note in notes:
        typer.echo(f"normalised: {note}")
    typer.echo(f"{path.relative_to(ws.root)} written and recorded in data.dvc.")


@command
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Price CSV files to check.", show_default=False)],
    root: Root = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Check price files against the expectation suite (expectations/ohlcv.json).

    Exit code 0: all pass (warnings allowed); 1: a rule failed; 2: a file cannot be read.
    """
    _setup()
    import json

    from stockflow.errors import PriceFileError
    from tasks.stages.validate import check_file

    ws = _workspace(root)
    params = ws.load_params()
    code, reports = 0, []
    for path in paths:
        try:
            report = check_file(ws, params, path)
        except PriceFileError as exc:
            _echo_error(str(exc))
            code = 2
            continue
        reports.append(report.to_dict())
        if not as_json:
            typer.echo(report.to_text())
        if not report.success:
            code = max(code, 1)
    if as_json:
        typer.echo(json.dumps(reports, indent=2, default=str))
    raise typer.Exit(code)


@command
def run(
    ticker: Ticker = None,
    tickers: Annotated[
        Optional[str],
        typer.Option("--tickers", help="A watchlist for this run: a,b,c (default: data.tickers in params.yaml)."),
    ] = None,  # fmt: skip
    all_tickers: Annotated[bool, typer.Option("--all", help="Every price file in data/.")] = False,
    preset: Annotated[
        Optional[str], typer.Option(help="Named set-up from params.yaml: default, or paper (the paper's exact one).")
    ] = None,
    sets: Sets = None,
    name: Annotated[
        Optional[str],
        typer.Option(
            help="Name of the MLflow run and Prefect flow run. Default: the "
            "ticker and what differs from params.yaml, e.g. `sp500 epochs=3`."
        ),
    ] = None,  # fmt: skip
    runner: Annotated[
        Optional[str],
        typer.Option(
            help="Watchlists: local (processes here) or dask (a Dask LocalCluster). Default: watchlist.runner."
        ),
    ] = None,  # fmt: skip
    workers: Annotated[
        Optional[int], typer.Option(help="Watchlists: tickers at once. Default: watchlist.workers.", min=1)
    ] = None,  # fmt: skip
    dask_address: Annotated[
        Optional[str], typer.Option(help="Watchlists: a running Dask scheduler, tcp://host:8786.")
    ] = None,  # fmt: skip
    root: Root = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's task logs.")] = False,
) -> None:
    """Run the retrain flow (validate, preprocess, train, evaluate, backtest, promote) and print a summary.

    The new model is registered as stockflow-TICKER's `challenger`, and becomes `champion` if it passes
    the gate in params.yaml (promote). --preset paper runs the paper's exact set-up. Each run works in
    its own folder, so runs started at the same time never mix their files. Ctrl-C stops a run within
    seconds: its MLflow run is marked FAILED and nothing is registered.

    With several tickers (--tickers, --all, or data.tickers) every ticker gets its own run under one
    parent run, side by side (--workers); the table at the end compares them, and a ticker that fails
    is reported there while the others finish (exit code 1).
    """
    _setup(verbose)
    sets = ([f"preset={preset}"] if preset else []) + list(sets or [])
    from stockflow.errors import UsageError, check_ticker

    ws = _workspace(root)
    params = ws.load_params(sets)
    if sum(x is not None and x is not False for x in (ticker, tickers, all_tickers or None)) > 1:
        raise UsageError("give one of --ticker, --tickers and --all")
    if all_tickers:
        from tasks.commands.watchlist import tickers_in

        chosen = list(tickers_in(ws.root))
    elif tickers is not None:
        chosen = [check_ticker(t.strip()) for t in tickers.split(",")]
    else:
        chosen = [_ticker(ticker, params)] if ticker is not None else list(params.data.tickers)
    from tasks.services.tracking import check_reachable, store_uri

    check_reachable(store_uri(ws.root))  # before any server starts: a run that cannot be recorded never trains
    if len(chosen) > 1 or tickers is not None or all_tickers:
        return _run_watchlist(ws, params, chosen, sets, name, runner, workers, dask_address)
    (chosen,) = chosen
    if not ws.project_data_file(chosen).is_file():
        raise UsageError(f"{ws.project_data_file(chosen)} not found: `stockflow ingest --ticker {chosen}` first.")
    from flows.server import prefect_api
    from stockflow.summary import run_summary
    from tasks.services.process import importing

    with importing():
        import prefect  # noqa: F401 - the first thing prefect_api imports
    with prefect_api(meanwhile=lambda: _while_the_server_starts(ws.root, params)):  # the server starts first
        from flows.retrain import retrain

        results = retrain(chosen, str(ws.root), sets, name, trigger="cli", progress=True)
    typer.echo(run_summary(results))
    typer.echo(_where(ws, params, results["run_id"], results.get("published", "")))
    _skip_exit_hooks()


def _while_the_server_starts(root: Path, params) -> None:
    """What a training run does anyway, while the Prefect server boots: import TensorFlow (through Keras),
    MLflow, arch (the interval's GARCH, 0.5 s) and the flow (with the collector paused: `importing`), and open a
    local MLflow store (its first use checks the schema). A store that cannot be opened is left for the run's first
    task, which records why."""
    from tasks.services.process import importing

    with importing():
        import arch  # noqa: F401
        import keras  # noqa: F401
        import mlflow  # noqa: F401

        import flows.retrain  # noqa: F401
        from tasks.services import tracking
        from tasks.services.execution import tracker_for

        if tracking.store_uri(root).startswith("sqlite:"):
            with contextlib.suppress(Exception):
                tracker_for(root.resolve(), params)


def _run_watchlist(ws, params, tickers, sets, name, runner, workers, address) -> None:
    """Every ticker side by side; the table; exit code 1 when any failed."""
    from flows.runners import task_runner
    from flows.server import prefect_api
    from flows.watchlist import watchlist
    from stockflow.errors import UsageError
    from tasks.commands.watchlist import after_stop

    w = params.watchlist
    runner, workers, address = runner or w.runner, workers or w.workers, address or w.dask_address
    if runner not in ("local", "dask"):
        raise UsageError(f"--runner {runner!r}: use local or dask")
    with prefect_api():
        flow = watchlist.with_options(task_runner=task_runner(runner, workers, address))
        try:
            state = flow(tickers=tickers, root=str(ws.root), overrides=sets, name=name, trigger="cli",
                         return_state=True)  # fmt: skip
            result = state.result(raise_on_failure=False)  # a watchlist with a failed ticker is a FAILED flow run
            if isinstance(result, BaseException):
                raise result
        except BaseException:
            after_stop(ws.root, params)  # the task runner is closed by now: its workers are gone
            raise
    where = f"dask at {address}" if address else f"{runner}, {workers} at once"
    typer.echo(f"watchlist of {len(tickers)} tickers ({where}):\n{result['text']}")
    typer.echo(_where(ws, params, result["run_id"], "each ticker's run says"))
    if result["failed"]:
        raise typer.Exit(1)


def _where(ws, params, run_id: str, published: str) -> str:
    """The run's id and page, where its outputs went, and how to open the UI (with this very executable)."""
    from tasks.services.execution import tracker_for

    url = tracker_for(ws.root, params).run_url(run_id)
    ui = "stockflow ui"
    here = Path(sys.argv[0]).resolve()
    if shutil.which("stockflow") is None or Path(shutil.which("stockflow")).resolve() != here:
        ui = f"{here} ui" if here.name == "stockflow" else f"{sys.executable} -m flows.cli ui"
    return "\n".join(
        [
            f"  MLflow run: {run_id}",
            f"  Outputs:    {published}",
            f"  See it:     {ui}   then {url}",
        ]
    )


@command
def runs(
    ticker: Ticker = None,
    last: Annotated[int, typer.Option("--last", "-n", help="How many runs, newest first.")] = 10,
    root: Root = None,
) -> None:
    """Compare the last runs of a ticker: name, status, model version (* = champion) and the headline figures."""
    _setup()
    from tasks.commands.compare import recent_runs_table

    ws = _workspace(root)
    params = ws.load_params()
    typer.echo(recent_runs_table(ws, params, _ticker(ticker, params), last))


@command
def record(
    run_id: Annotated[
        Optional[str], typer.Argument(help="The run to record (as the failed run printed it). Default: every one.")
    ] = None,  # fmt: skip
    root: Root = None,
) -> None:
    """Record runs whose stages finished while the MLflow tracking server was not answering.

    Such a run ends FAILED with its stage outputs kept (under .stockflow/runs/); once the server
    answers again, this records each as the run would have (metrics, plots, the model, the gate,
    the registry), without training again. Exit code 1: the server still does not answer.
    """
    _setup()
    from stockflow.errors import UsageError
    from stockflow.summary import run_summary
    from tasks.services.execution import record_later, unrecorded

    ws = _workspace(root)
    waiting = [run_id] if run_id is not None else list(unrecorded(ws.root))
    if not waiting:
        raise UsageError(f"no run waits to be recorded in {ws.root}")
    for one in waiting:
        results = record_later(ws.root, one)
        if "failure" in results:
            typer.echo(f"run {one} ({results['ticker']}) recorded FAILED: {results['failure']}")
            continue
        typer.echo(run_summary(results))
        typer.echo(_where(ws, ws.load_params(), one, results.get("published", "")))


@command
def reproduce(
    run_id: Annotated[str, typer.Argument(help="The MLflow run id (as `stockflow runs` or the MLflow UI show it).")],
    root: Root = None,
    keep: Annotated[bool, typer.Option("--keep", help="Keep the worktree even when the run reproduces.")] = False,
) -> None:
    """Make a run again from its MLflow record alone: its commit, its data version, its settings.

    Checks the run's git commit out as a worktree of this clone (under .stockflow/reproduce/) with the
    run's code.diff and params.yaml, pulls its data version with `dvc pull` (from this clone's DVC
    remotes: whoever ran it must have `dvc push`ed), runs `stockflow run` there with that commit's code
    into the same MLflow store, and prints the recorded and the new headline figures side by side.
    Exit code 0: every figure and setting equal; 1: a difference (named), or the commit or the data
    cannot be had here (said why); 2: not a finished training run's id.
    """
    _setup()
    from tasks.commands.reproduce import reproduce as do_reproduce

    result = do_reproduce(_workspace(root).root, run_id, keep)
    typer.echo(result.to_text())
    if result.first_difference is not None:
        raise typer.Exit(1)


@command
def serve(
    ticker: Ticker = None,
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
    """
    _setup()
    from tasks.commands.serve import scoring_server

    ws = _workspace(root)
    params = ws.load_params()
    command_line, env, what = scoring_server(ws, params, _ticker(ticker, params), host, port)
    typer.echo(f"serving {what} on http://{host}:{port}/invocations (Ctrl-C stops)", err=True)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execve(command_line[0], command_line, env)  # MLflow's server in this process: Ctrl-C and signals are its


@command
def predict(
    ticker: Ticker = None,
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
    """
    _setup()
    import json

    from stockflow.errors import UsageError
    from tasks.commands.predict import next_day

    ws = _workspace(root)
    params = ws.load_params()
    if not all_tickers:
        result = next_day(ws, params, _ticker(ticker, params), allow_stale)
        typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.to_text())
        return
    if ticker is not None:
        raise UsageError("give --ticker or --all, not both")
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
    """
    _setup()
    import json

    from stockflow.errors import UsageError
    from tasks.commands.monitor import check, monitor_text

    ws = _workspace(root)
    params = ws.load_params()
    if not all_tickers:
        report = check(ws, params, _ticker(ticker, params))
        typer.echo(json.dumps(report, indent=2) if as_json else monitor_text(report))
        return
    if ticker is not None:
        raise UsageError("give --ticker or --all, not both")
    found, failed = _every_ticker(ws, lambda name: check(ws, params, name))
    if as_json:
        typer.echo(json.dumps({"checks": found, "failed": failed}, indent=2))
    else:
        for report in found.values():
            typer.echo(monitor_text(report) + "\n")
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


def _backtest_default(field: str) -> float:
    from stockflow.config import BacktestParams

    return BacktestParams.model_fields[field].default


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
    _setup()
    import json

    from stockflow.backtest import Rules
    from stockflow.config import BacktestParams
    from stockflow.errors import ParamsError, UsageError
    from stockflow.summary import strategy_table
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
    start: Annotated[str, typer.Option(help="First as-of date (YYYY-MM-DD).")] = "2015-01-01",
    every: Annotated[str, typer.Option(help="Retraining interval: a count and D, W, M or Y, e.g. 3M.")] = "3M",
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
    sets: Sets = None,
    root: Root = None,
) -> None:
    """Simulate retraining over history: does retraining pay, and on a clock or on the monitor's evidence?

    Without --policy: train at each as-of date (--start, --every) on data up to it, gate, and let the
    champion trade until the next; prints each step and "always the current champion" against "train
    once" and Buy-and-Hold. With --policy: the policies side by side, day by day from --start: `every:3M`
    retrains on a clock, `alarm` when the monitor's tests (stockflow monitor) say decayed or drifted,
    `once` never; for each, the stitched out-of-sample MAE ratio to persistence, the Sharpe net of costs,
    the retrains and the alarms, and a plot. The registry is not touched; each replay is an MLflow run
    with a child run per step or policy.
    """
    _setup()
    from stockflow.errors import UsageError
    from stockflow.replay import as_of_dates, parse_every
    from tasks.services.files import read_price_file

    ws = _workspace(root)
    params = ws.load_params(sets or [])
    name = _ticker(ticker, params)
    if policy:
        import pandas as pd

        from stockflow.policies import parse_policy

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
        from stockflow.summary import policies_summary

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
    from stockflow.summary import replay_summary

    with prefect_api():
        result = replay_flow(ticker=name, root=str(ws.root), start=start, every=every, end=end,
                             overrides=list(sets or []))  # fmt: skip
    typer.echo(replay_summary(result))
    typer.echo(f"\n  MLflow parent run: {result['run_id']}   (stockflow ui)")


@command
def ui(
    root: Root = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server processes; one is plenty for one person.")] = 1,
) -> None:
    """Open the MLflow UI on this project's store (runs, curves, plots, models) at http://127.0.0.1:PORT."""
    _setup()
    from tasks.services.execution import tracker_for

    ws = _workspace(root)
    tracker = tracker_for(ws.root, ws.load_params())
    uri = tracker.uri
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # no background job workers for a viewer
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the server's own deprecation notices are not for users
    typer.echo(f"MLflow UI for {uri} (Ctrl-C to stop); the runs, in the model-training view:")
    typer.echo(f"  {tracker.experiment_url(port)}/runs?workflowType=machine_learning")
    # The Python running this command, not whatever `mlflow` is first on PATH: works without an activated venv.
    os.execv(sys.executable, [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                              "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)])  # fmt: skip


def main() -> None:
    """Entry point: SIGINT and SIGTERM end a run cleanly (see `command` for how errors become exit codes)."""
    from tasks.services.process import exit_without_hooks, raise_on_signals

    raise_on_signals()
    try:
        app()
    except SystemExit as done:
        if _exit_now:
            exit_without_hooks(done.code if isinstance(done.code, int) else 1)
        raise


if __name__ == "__main__":
    main()
