"""The record of runs: `stockflow runs`, `record`, `reproduce` and `ui`."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Optional

import typer

from flows.cli.base import Root, Ticker, chosen_ticker, command, setup, where, workspace


@command
def runs(
    ticker: Ticker = None,
    last: Annotated[int, typer.Option("--last", "-n", help="How many runs, newest first.")] = 10,
    root: Root = None,
) -> None:
    """Compare the last runs of a ticker: name, status, model version (* = champion) and the headline figures."""
    setup()
    from tasks.commands.compare import recent_runs_table

    ws = workspace(root)
    params = ws.load_params()
    typer.echo(recent_runs_table(ws, params, chosen_ticker(ticker, params), last))


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
    setup()
    from stockflow.errors import UsageError
    from tasks.commands.record import record_later
    from tasks.services.unrecorded import waiting

    ws = workspace(root)
    waiting = [run_id] if run_id is not None else list(waiting(ws.root))
    if not waiting:
        raise UsageError(f"no run waits to be recorded in {ws.root}")
    for one in waiting:
        results = record_later(ws.root, one)
        if "failure" in results:
            typer.echo(f"run {one} ({results['ticker']}) recorded FAILED: {results['failure']}")
            continue
        typer.echo(results["text"])
        typer.echo(where(ws, ws.load_params(), one, results.get("published", "")))


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
    setup()
    from tasks.commands.reproduce import reproduce as do_reproduce

    result = do_reproduce(workspace(root).root, run_id, keep)
    typer.echo(result.to_text())
    if result.first_difference is not None:
        raise typer.Exit(1)


@command
def ui(
    root: Root = None,
    port: Annotated[int, typer.Option(help="Port on 127.0.0.1.")] = 5000,
    workers: Annotated[int, typer.Option(help="Server processes; one is plenty for one person.")] = 1,
) -> None:
    """Open the MLflow UI on this project's store (runs, curves, plots, models) at http://127.0.0.1:PORT."""
    setup()
    from tasks.services.tracking import tracker_for

    ws = workspace(root)
    tracker = tracker_for(ws.root, ws.load_params())
    uri = tracker.uri
    os.environ.setdefault("MLFLOW_SERVER_ENABLE_JOB_EXECUTION", "false")  # no background job workers for a viewer
    os.environ.setdefault("PYTHONWARNINGS", "ignore")  # the server's own deprecation notices are not for users
    typer.echo(f"MLflow UI for {uri} (Ctrl-C to stop); the runs, in the model-training view:")
    typer.echo(f"  {tracker.experiment_url(port)}/runs?workflowType=machine_learning")
    # The Python running this command, not whatever `mlflow` is first on PATH: works without an activated venv.
    os.execv(sys.executable, [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", uri,
                              "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)])  # fmt: skip
