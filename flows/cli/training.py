"""`stockflow run`: one ticker's retrain flow, or a watchlist's tickers side by side."""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Annotated, Optional

import typer

from flows.cli.base import (
    Preset,
    Root,
    Sets,
    Ticker,
    chosen_subject,
    command,
    setup,
    skip_exit_hooks,
    where,
    workspace,
)


@command
def run(
    ticker: Ticker = None,
    tickers: Annotated[
        Optional[str],
        typer.Option("--tickers", help="A watchlist for this run: a,b,c (default: data.tickers in params.yaml)."),
    ] = None,  # fmt: skip
    all_tickers: Annotated[bool, typer.Option("--all", help="Every price file in data/.")] = False,
    universe: Annotated[
        Optional[str],
        typer.Option(
            help="A universe of params.yaml's `universes` (e.g. sp20), trained as one network across its "
            "tickers; for one run: --set 'universes.NAME=[a,b,c]'. See docs/universes.md."
        ),
    ] = None,  # fmt: skip
    preset: Preset = None,
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

    With --universe NAME the universe's tickers are trained as one: one network across them, scored by the daily
    Rank IC of its scores with the next day's returns beside naive baselines, traded as a portfolio (top k names,
    at most n replaced a day) beside equal weight, and registered as stockflow-universe-NAME behind its gate.
    """
    setup(verbose)
    sets = ([f"preset={preset}"] if preset else []) + list(sets or [])
    from stockflow.errors import UsageError

    ws = workspace(root)
    params = ws.load_params(sets)
    if sum(x is not None and x is not False for x in (ticker, tickers, all_tickers or None, universe)) > 1:
        raise UsageError("give one of --ticker, --tickers, --all and --universe")
    from tasks.services.tracking import check_reachable, store_uri

    watchlist = _watchlist(ws, params, ticker, tickers, all_tickers, universe)
    if watchlist is not None:
        check_reachable(store_uri(ws.root))  # before any server starts: a run that cannot be recorded never trains
        return _run_watchlist(ws, params, watchlist, sets, name, runner, workers, dask_address)
    kind, chosen = chosen_subject(ticker, universe, params)
    subject = kind.checked(params, chosen)  # a universe undefined or of fewer than two tickers: said before anything
    check_reachable(store_uri(ws.root))
    if not any(ws.project_data_file(t).is_file() for t in subject.tickers):
        raise UsageError(f"{ws.project_data_file(subject.tickers[0])} not found: `stockflow ingest --ticker "
                         f"{subject.tickers[0]}` first.")  # fmt: skip
    from flows.server import prefect_api
    from tasks.services.process import importing

    with importing():
        import prefect  # noqa: F401 - the first thing prefect_api imports
    with prefect_api(meanwhile=lambda: _while_the_server_starts(ws.root, params)):  # the server starts first
        from flows.retraining import RETRAIN

        results = RETRAIN[kind.name](chosen, str(ws.root), sets, name, trigger="cli", progress=True)
    typer.echo(results["text"])
    typer.echo(where(ws, params, results["run_id"], results.get("published", "")))
    skip_exit_hooks()


def _watchlist(ws, params, ticker, tickers, all_tickers, universe) -> list[str] | None:
    """The tickers to run side by side (--all, --tickers, or a watchlist of several when no subject is named); None
    when the run is of one subject."""
    from stockflow.errors import check_ticker

    if all_tickers:
        from tasks.commands.watchlist import tickers_in

        return list(tickers_in(ws.root))
    if tickers is not None:
        return [check_ticker(t.strip()) for t in tickers.split(",")]
    if ticker is None and universe is None and len(params.data.tickers) > 1:
        return list(params.data.tickers)
    return None


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
        from tasks.services.tracking import tracker_for

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
    ran_on = f"dask at {address}" if address else f"{runner}, {workers} at once"
    typer.echo(f"watchlist of {len(tickers)} tickers ({ran_on}):\n{result['text']}")
    typer.echo(where(ws, params, result["run_id"], "each ticker's run says"))
    if result["failed"]:
        raise typer.Exit(1)


@command
def tune(
    ticker: Ticker = None,
    universe: Annotated[Optional[str], typer.Option(help="Tune a universe of params.yaml's `universes`.")] = None,
    trials: Annotated[Optional[int], typer.Option(help="Trials in the study. Default: tune.trials.", min=1)] = None,
    timeout: Annotated[
        Optional[float], typer.Option(help="Seconds after which no trial starts. Default: tune.timeout_s.", min=1)
    ] = None,
    study: Annotated[Optional[str], typer.Option(help="Name the study (default: TARGET-TIMESTAMP).")] = None,
    resume: Annotated[
        Optional[str], typer.Option(help="Resume the study of this name (stopped by Ctrl-C, kill -9): its rest.")
    ] = None,
    workers: Annotated[Optional[int], typer.Option(help="Trials at once. Default: tune.workers.", min=1)] = None,
    runner: Annotated[Optional[str], typer.Option(help="local (processes here) or dask. Default: tune.runner.")] = None,
    sets: Sets = None,
    root: Root = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show Prefect's task logs.")] = False,
) -> None:
    """Search a ticker's (or a universe's) settings with an Optuna study, on the validation window only.

    The search space is params.yaml's tune.space (tune.universe_space for a universe): ranges and choices of
    preprocess and train settings. TPE samples them with a fixed seed; a trial whose validation loss lags the median
    trial's is pruned. Each trial is a nested MLflow run of the study's run (compare them in the MLflow UI's chart
    view), and a task run of its Prefect flow run. The study lives in tune.storage (mlruns/optuna.db by default):
    trials run side by side (--workers) and a stopped study resumes (--resume STUDY).

    When it ends, the best settings become the preset tuned-STUDY in params.yaml, are trained once as a normal run
    (through the gate like any challenger) beside the default settings' run, and the summary says how far the best
    trial's validation figure overstated what the test window gave. Exit code 2: a malformed search space, or a
    study that exists with another one.
    """
    setup(verbose)
    from stockflow.errors import UsageError

    ws = workspace(root)
    sets = list(sets or [])
    sets += [f"tune.trials={trials}"] * (trials is not None) + [f"tune.timeout_s={timeout}"] * (timeout is not None)
    sets += [f"tune.workers={workers}"] * (workers is not None) + [f"tune.runner={runner}"] * (runner is not None)
    params = ws.load_params(sets)
    if resume is not None and (ticker or universe or study):
        raise UsageError("--resume STUDY takes its target and space from the study: give it alone")
    kind, target = chosen_subject(ticker, universe, params)
    from tasks.commands.tune import prepare

    _, study, _ = prepare(ws, None if resume else target, kind, sets, study, resume)  # refusals: before any record
    from flows.runners import task_runner
    from flows.server import prefect_api
    from tasks.services.tracking import check_reachable, store_uri

    check_reachable(store_uri(ws.root))
    with prefect_api():
        from flows.tune import tune_study

        t = params.tune
        flow = tune_study.with_options(task_runner=task_runner(t.runner, t.workers)) if t.workers > 1 else tune_study
        try:
            result = flow(target, kind.name, str(ws.root), sets, study, resume, trigger="cli")
        except BaseException:
            typer.echo(f"stockflow: study {study} stopped; `stockflow tune --resume {study}` runs the rest", err=True)
            raise
    typer.echo(result["text"])
    typer.echo(where(ws, params, result["run_id"], "the study's run holds its trials"))
    skip_exit_hooks()
