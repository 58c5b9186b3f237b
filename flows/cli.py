"""The `stockflow` command. Heavy libraries load inside each command, so `--help` is instant."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

app = typer.Typer(
    help="LSTM stock forecasts and an honest backtest, as a tracked, reproducible pipeline.\n\n"
    "Typical day: `stockflow run` (retrain on data/<ticker>.csv and gate the new model), `stockflow predict` "
    "(tomorrow's forecast from the champion), `stockflow ui` to compare runs.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Root = Annotated[Path, typer.Option("--root", help="Project folder (holds params.yaml).", show_default=False)]
Ticker = Annotated[
    Optional[str],
    typer.Option("--ticker", "-t", help="Ticker name: data/NAME.csv. Default: data.ticker in params.yaml."),
]
Sets = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a param for this run only, e.g. --set train.epochs=3 (repeatable)."),
]


def _setup(verbose: bool = False) -> None:
    from tasks.quiet import quiet

    quiet(verbose)


def _project_with_data(root: Path, ticker: str | None, sets: list[str] | None):
    """The project, its params with overrides, and a ticker whose data file exists; exit 2 otherwise."""
    from stockflow.config import ParamsError
    from tasks.project import Project

    project = Project(root.resolve())
    try:
        params = project.load_params(sets or [])
    except ParamsError as exc:
        _fail(str(exc), 2)
    name = ticker or params.data.ticker
    if not project.data_file(name).exists():
        _fail(f"{project.data_file(name)} not found: run `stockflow ingest` first.", 2)
    return project, params, name


def _fail(message: str, code: int) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


@app.command()
def ingest(
    source: Annotated[
        str, typer.Option(help="sample:sp500 or sample:nasdaq (embedded real data), or csv:PATH (Yahoo CSV export).")
    ] = "sample:sp500",
    ticker: Ticker = None,
    root: Root = Path("."),
) -> None:
    """Validate a price file, copy it to data/TICKER.csv and record it as a new DVC data version.

    A file that fails validation is refused: data/ and data.dvc stay exactly as they were.
    """
    _setup()
    from stockflow.config import ParamsError
    from stockflow.validation import DataValidationError
    from tasks.ingest import ingest as do_ingest
    from tasks.prices_io import PriceFileError
    from tasks.project import Project

    project = Project(root.resolve())
    try:
        params = project.load_params()
        name = ticker or (params.data.ticker if source.startswith("sample:") else Path(source.partition(":")[2]).stem)
        path = do_ingest(project, params, source, name)
    except DataValidationError as exc:
        _fail(exc.report.to_text() + "\nRefused: nothing was written.", 1)
    except (PriceFileError, ValueError, ParamsError) as exc:
        _fail(str(exc), 2)
    typer.echo(f"{path.relative_to(project.root)} written and recorded in data.dvc.")


@app.command()
def validate(
    paths: Annotated[list[Path], typer.Argument(help="Price CSV files to check.", show_default=False)],
    root: Root = Path("."),
    as_json: Annotated[bool, typer.Option("--json", help="Print the reports as JSON.")] = False,
) -> None:
    """Check price files against the expectation suite (expectations/ohlcv.json).

    Exit code 0: all pass (warnings allowed); 1: a rule failed; 2: a file cannot be read.
    """
    _setup()
    import json

    from tasks.prices_io import PriceFileError
    from tasks.project import Project
    from tasks.validate import check_file

    project = Project(root.resolve())
    params = project.load_params()
    code, reports = 0, []
    for path in paths:
        try:
            report = check_file(project, params, path)
        except PriceFileError as exc:
            typer.secho(str(exc), fg=typer.colors.RED, err=True)
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


@app.command()
def run(
    ticker: Ticker = None,
    preset: Annotated[
        Optional[str], typer.Option(help="Named set-up from params.yaml: default, or paper (the paper's exact one).")
    ] = None,
    sets: Sets = None,
    root: Root = Path("."),
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's task logs.")] = False,
) -> None:
    """Run the retrain flow (validate, preprocess, train, evaluate, backtest, promote) and print a summary.

    The new model is registered as stockflow-TICKER's `challenger`, and becomes `champion` if it passes
    the gate in params.yaml (promote). --preset paper runs the paper's exact set-up.
    """
    _setup(verbose)
    sets = ([f"preset={preset}"] if preset else []) + list(sets or [])
    from stockflow.validation import DataValidationError
    from tasks.prices_io import PriceFileError

    project, params, name = _project_with_data(root, ticker, sets)
    from flows.retrain import retrain

    try:
        results = retrain(ticker=name, root=str(project.root), overrides=list(sets or []))
    except DataValidationError as exc:
        _fail(exc.report.to_text() + "\nStopped before training; nothing was recorded as a new data version.", 1)
    except PriceFileError as exc:
        _fail(str(exc), 2)
    from flows.summary import summary

    typer.echo(summary(results, project))


@app.command()
def predict(
    ticker: Ticker = None,
    root: Root = Path("."),
    allow_stale: Annotated[
        bool, typer.Option("--allow-stale", help="Forecast even if the last bar is older than predict.max_stale_days.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the forecast as JSON.")] = False,
) -> None:
    """The champion's forecast for the next trading day: price, return and signal.

    Uses models:/stockflow-TICKER@champion and data/TICKER.csv (validated first), and names the
    model version, its data version and its training date. Exit code 1: no champion, invalid or stale
    data; 2: unreadable params or price file.
    """
    _setup()
    import json

    from stockflow.config import ParamsError
    from tasks.predict import PredictError, next_day
    from tasks.prices_io import PriceFileError
    from tasks.project import Project

    project = Project(root.resolve())
    try:
        params = project.load_params()
        result = next_day(project, params, ticker or params.data.ticker, allow_stale)
    except PredictError as exc:
        _fail(str(exc), 1)
    except (ParamsError, PriceFileError) as exc:
        _fail(str(exc), 2)
    typer.echo(json.dumps(result.to_dict(), indent=2) if as_json else result.to_text())


@app.command()
def backtest(
    prices: Annotated[Path, typer.Option("--prices", help="Daily OHLC CSV (Date,Open,High,Low,Close,...).")],
    signals: Annotated[
        Path, typer.Option("--signals", help="CSV of Date and one column of 1 (long), 0 (flat), -1 (short).")
    ],
    stop_loss: Annotated[Optional[float], typer.Option(help="Fraction of the fill price, e.g. 0.05.")] = None,
    take_profit: Annotated[Optional[float], typer.Option(help="Fraction of the fill price, e.g. 0.10.")] = None,
    commission: Annotated[float, typer.Option(help="Fraction of traded value, per fill.")] = 0.001,
    slippage: Annotated[float, typer.Option(help="Adverse fraction of the fill price, on market fills.")] = 0.0005,
    cash: Annotated[float, typer.Option(help="Starting equity.")] = 10_000.0,
    risk_free_rate: Annotated[float, typer.Option(help="Annual, for Sharpe and Sortino.")] = 0.0,
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
    from tasks.backtest import backtest_files
    from tasks.prices_io import PriceFileError

    for name, value in (("--stop-loss", stop_loss), ("--take-profit", take_profit)):
        if value is not None and value <= 0:
            _fail(f"{name} must be a positive fraction, got {value}", 2)
    rules = Rules(cash, commission, slippage, stop_loss, take_profit, allow_short=True)
    try:
        metrics = backtest_files(prices, signals, rules, risk_free_rate)
    except PriceFileError as exc:
        _fail(str(exc), 2)
    if as_json:
        typer.echo(json.dumps(metrics, indent=2))
        return
    from flows.summary import strategy_table

    typer.echo(f"{signals.name} on {prices.name}, {metrics['start']} .. {metrics['end']}")
    typer.echo(strategy_table([("signals", metrics["strategy"]), ("buy and hold", metrics["buy_and_hold"])]))


@app.command()
def replay(
    ticker: Ticker = None,
    start: Annotated[str, typer.Option(help="First as-of date (YYYY-MM-DD).")] = "2015-01-01",
    every: Annotated[str, typer.Option(help="Retraining interval: a count and D, W, M or Y, e.g. 3M.")] = "3M",
    end: Annotated[Optional[str], typer.Option(help="Stop trading here (default: the last bar).")] = None,
    sets: Sets = None,
    root: Root = Path("."),
) -> None:
    """Simulate scheduled retraining over history: train at each as-of date on data up to it, gate, trade.

    Prints each step (as-of, version, decision, error vs persistence) and the stitched out-of-sample
    result of "always the current champion" against "train once" and Buy-and-Hold. The registry is
    not touched; every step is an MLflow run under one parent run.
    """
    _setup()

    project, params, name = _project_with_data(root, ticker, sets)
    from tasks.prices_io import read_price_file
    from tasks.replay import as_of_dates

    try:  # bad dates or interval fail here, before any flow run starts
        as_of_dates(read_price_file(project.data_file(name)), start, every, end)
    except ValueError as exc:
        _fail(str(exc), 2)
    from flows.replay import replay as replay_flow

    result = replay_flow(ticker=name, root=str(project.root), start=start, every=every, end=end,
                         overrides=list(sets or []))  # fmt: skip

    from flows.summary import replay_summary

    typer.echo(replay_summary(result, project))


@app.command()
def ui(
    root: Root = Path("."),
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
) -> None:
    """Open the MLflow UI on this project's store (runs, curves, plots, models)."""
    _setup()
    import os

    from tasks.project import Project
    from tasks.tracking import tracking_uri

    uri = tracking_uri(Project(root.resolve()))
    os.execvp("mlflow", ["mlflow", "ui", "--backend-store-uri", uri, "--host", "127.0.0.1", "--port", str(port)])


def main() -> None:
    app()


if __name__ == "__main__":
    main()
