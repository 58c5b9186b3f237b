"""The `stockflow` command's frame: the app, the options its commands share, `command` (user errors and
signals become a message and an exit code) and `main`. Heavy libraries load inside each command, so `--help`
is instant."""

from __future__ import annotations

import functools
import inspect
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
Preset = Annotated[
    Optional[str],
    typer.Option(help="Named set-up from params.yaml's presets: default, paper (the paper's exact one), market "
                 "(a real market of OHLCV bars: Alpha158 into LightGBM)."),
]  # fmt: skip
Sets = Annotated[
    Optional[list[str]],
    typer.Option("--set", "-s", help="Override a param for this run only, e.g. --set train.epochs=3 (repeatable)."),
]


def setup(verbose: bool = False) -> None:
    from tasks.services.process import quiet

    quiet(verbose)


def workspace(root: Path | None):
    from tasks.services.workspace import Workspace, project_root

    return Workspace.project(project_root(root))


def chosen_ticker(given: str | None, params) -> str:
    """The ticker given on the command line (checked: a name, not a path), else the watchlist's first."""
    from stockflow.errors import check_ticker

    return check_ticker(given) if given is not None else params.data.tickers[0]


def chosen_subject(ticker: str | None, universe: str | None, params):
    """The kind the options name and the subject's name: --universe NAME, else --ticker (or the watchlist's first)."""
    from stockflow.errors import UsageError, check_ticker
    from tasks.kinds import TICKER, UNIVERSE

    if ticker is not None and universe is not None:
        raise UsageError("give --ticker or --universe, not both")
    if universe is not None:
        return UNIVERSE, check_ticker(universe, where="universe")
    return TICKER, chosen_ticker(ticker, params)


def echo_error(message: str) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)


def command(fn: Callable) -> Callable:
    """Register a command whose user errors and signals become a message and an exit code, without a traceback."""

    @functools.wraps(fn)
    def guarded(*args, **kwargs):
        from stockflow.errors import DataValidationError, Interrupted, StockflowError

        try:
            return fn(*args, **kwargs)
        except DataValidationError as exc:
            echo_error(str(exc))
            raise typer.Exit(exc.exit_code) from None
        except StockflowError as exc:
            echo_error(f"stockflow: {exc}")
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

                echo_error(f"stockflow: the Prefect API {PREFECT_API_URL.value()} stopped answering ({exc}): the "
                            "run stopped, and its MLflow run says so (FAILED, with the reason).")  # fmt: skip
                skip_exit_hooks()
                raise typer.Exit(1) from None
            raise

    return app.command(help=flowed(fn.__doc__))(guarded)


def flowed(doc: str | None) -> str | None:
    """A docstring as `--help` shows it: each paragraph one line, for the terminal to wrap. Typer keeps the
    source's line breaks after the first paragraph, which wraps them again at 80 columns into ragged lines."""
    if not doc:
        return doc
    paragraphs = inspect.cleandoc(doc).split("\n\n")
    return "\n\n".join(" ".join(line.strip() for line in paragraph.splitlines()) for paragraph in paragraphs)


_exit_now = False


def _prefect_api_gone(exc: BaseException) -> bool:
    if "httpx" not in sys.modules:  # nothing spoke to Prefect's API
        return False
    from tasks.services.failures import prefect_api_gone

    return prefect_api_gone(exc)


def _interrupted(signal_name: str) -> None:
    echo_error(f"stockflow: interrupted by {signal_name}; the run is marked FAILED and nothing was registered.")
    skip_exit_hooks()


def skip_exit_hooks() -> None:
    """Exit without the libraries' exit hooks (about 2 s) once the run is closed and the Prefect server stopped."""
    global _exit_now
    _exit_now = True


def where(ws, params, run_id: str, published: str) -> str:
    """The run's id and page, where its outputs went, and how to open the UI (with this very executable)."""
    from tasks.services.tracking import tracker_for

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
