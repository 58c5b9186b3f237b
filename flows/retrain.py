"""The `retrain` flow: validate -> preprocess -> train -> evaluate -> backtest -> promote, for one ticker.

It orders the stages and nothing more. Each task runs one stage of the
execution (`tasks/services/execution.py`) in the execution's own workspace and hands the
next one the execution (paths, ids and settings), never DataFrames or models; a
failure or a signal anywhere ends the execution's MLflow run FAILED.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import re
import threading
from collections.abc import Callable, Iterator
from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE

from flows.server import TEMPORARY
from flows.tagging import tag_this_flow_run
from stockflow.reporting.summary import stage_line
from tasks import kinds
from tasks.kinds import TICKER, Kind, Subject
from tasks.services import execution, tracking
from tasks.services.catalog import Stage
from tasks.services.execution import Execution
from tasks.services.workspace import Workspace, project_root


@task(name="begin", cache_policy=NO_CACHE)
def begin(root: str, subject: str | Subject, overrides: list[str], name: str | None, trigger: str,
          parent_run_id: str | None, links: dict[str, str] | None = None):  # fmt: skip
    """Load the settings once, snapshot the data into a private workspace, open the MLflow run."""
    links = {**(links or {}), tracking.PREFECT_RUN: str(runtime.flow_run.id)}
    if runtime.flow_run.ui_url and not os.environ.get(TEMPORARY):  # a temporary server's page dies with it
        links[tracking.PREFECT_URL] = runtime.flow_run.ui_url
    ex = execution.begin(root, subject, overrides, trigger=trigger, name=name, parent_run_id=parent_run_id,
                         links=links)  # fmt: skip
    tracker = ex.tracker
    get_run_logger().info("MLflow run %s (%s): %s", ex.run_id, ex.name, tracker.run_url(ex.run_id))
    return ex


def artifact_key(prefix: str, ticker: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) for a ticker such as `BRK.B` or `sp_500`."""
    return re.sub(r"[^a-z0-9-]+", "-", f"{prefix}-{ticker.lower()}")[:64]


@contextlib.contextmanager
def training_progress(ex: Execution) -> Iterator[None]:
    """The train task's progress in the Prefect UI (a progress artifact): the share of epochs done.

    A watchlist's workers show no progress bar; this is where their training can be followed. The
    updates go from a thread of their own, at most once a second: training never waits for the API
    (a worker whose watchlist was killed must still reach its next batch, and stop there).
    """
    from prefect.artifacts import create_progress_artifact, update_progress_artifact

    from stockflow.models import calling_every_epoch

    epochs = ex.subject.kind.train_params(ex.params).epochs
    artifact = create_progress_artifact(
        0.0, key=artifact_key("train", ex.ticker),
        description=f"Epochs of {ex.ticker}'s training done, of at most {epochs} (early stopping may end it sooner).",
    )  # fmt: skip
    done = {"epochs": 0}
    changed, finished = threading.Event(), threading.Event()

    def send() -> None:
        shown = 0
        while not finished.is_set():
            changed.wait()
            changed.clear()
            if done["epochs"] != shown:
                shown = done["epochs"]
                with contextlib.suppress(Exception):  # a display that cannot be updated never stops anything
                    update_progress_artifact(artifact, 100 * shown / epochs)
            finished.wait(1)

    def count(epoch: int, logs: dict[str, float]) -> None:
        done["epochs"] = epoch + 1
        changed.set()

    sender = threading.Thread(target=contextvars.copy_context().run, args=(send,), daemon=True,
                              name="stockflow-training-progress")  # fmt: skip
    sender.start()
    try:
        with calling_every_epoch(count):
            yield
    finally:
        finished.set()
        changed.set()
    sender.join(timeout=5)  # its last update first, then this one
    update_progress_artifact(artifact, 100.0)  # done, also when early stopping ended it before the last epoch


def _stage(declared: Stage):
    name = declared.name

    def run(ex: Execution, progress: bool = False) -> dict[str, Any]:
        with training_progress(ex) if declared.shows_progress else contextlib.nullcontext():
            summary = execution.compute(ex, name, progress=progress)
        get_run_logger().info(stage_line(name, summary, execution.stage_times(ex).get(name)))
        return summary

    run.__name__ = run.__qualname__ = name
    run.__doc__ = declared.purpose
    return task(name=name, cache_policy=NO_CACHE)(run)


# One task per stage of every kind's pipeline, but their last: `promote` ends each (its epochs shown as progress in
# the Prefect UI where the stage shows progress).
STAGE_TASKS = {s.name: _stage(s) for k in kinds.KINDS for s in k.stages[:-1]}


@task(name="promote", cache_policy=NO_CACHE)
def promote(ex: Execution) -> dict[str, Any]:
    """Record the run in MLflow from the stages' files, apply the gate, publish the outputs for DVC."""
    results = execution.conclude(ex)
    logger = get_run_logger()
    last = ex.subject.names[-1]
    logger.info(stage_line(last, results[last]))
    logger.info("outputs published to %s", results["published"])
    _link_mlflow_run(ex)
    return results


def _link_mlflow_run(ex: Execution) -> None:
    from prefect.artifacts import create_link_artifact

    tracker = ex.tracker
    create_link_artifact(
        tracker.run_url(ex.run_id), link_text=f"MLflow run {ex.name}", key=artifact_key("mlflow-run", ex.ticker),
        description=f"The MLflow run this flow run recorded: `{ex.run_id}`",
    )  # fmt: skip


def described_run(subject: Callable[[dict, Any], str], fallback: Callable[[dict], str], kind: Kind = TICKER) -> str:
    """A flow run's name: the one given, else its subject (`subject(parameters, settings)`) and what differs from
    the committed settings; `fallback(parameters)` when the settings cannot be read (the flow reports that itself)."""
    p = runtime.flow_run.parameters
    if p.get("name"):
        return p["name"]
    try:
        from tasks.services import provenance

        root = project_root(p.get("root"))
        params = Workspace.project(root).load_params(p.get("overrides") or [])
        return provenance.describe(kind.label(subject(p, params)), params, root, kind)
    except Exception:  # noqa: BLE001 - a name is a convenience; the flow reports the real error itself
        return fallback(p)


def _flow_run_name() -> str:
    """`sp500 paper epochs=2`: the ticker and what differs from the committed settings (or the given name)."""
    return described_run(
        lambda p, params: p.get("ticker") or params.data.tickers[0], lambda p: str(p.get("ticker") or "retrain")
    )


@flow(name="retrain", flow_run_name=_flow_run_name, log_prints=True)
def retrain(
    ticker: str | None = None,
    root: str | None = None,
    overrides: list[str] | None = None,
    name: str | None = None,
    trigger: str = "prefect",
    parent_run_id: str | None = None,
    progress: bool = False,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Validate, preprocess, train, evaluate, backtest and gate one ticker; each stage's summary and the run id."""
    root_path = project_root(root)
    overrides = list(overrides or [])
    params = Workspace.project(root_path).load_params(overrides)
    ticker = ticker or params.data.tickers[0]
    # The flow run is tagged, not its task runs: Prefect checks every tagged task run against tag concurrency limits,
    # and on its SQLite server that check collides with the server's own writes after any stage longer than 5 s
    # (the Prefect cache of "no limits" expires): a 503, and the next stage started 2 s late.
    tag_this_flow_run(ticker, f"preset:{params.preset}", f"trigger:{trigger}", "kind:retrain")
    ex = begin(str(root_path), ticker, overrides, name, trigger, parent_run_id, links)
    return run_stages(ex, progress)


def run_stages(ex: Execution, progress: bool) -> dict[str, Any]:
    """Each stage of the execution's pipeline as a task, then `promote`; the execution aborted on any error."""
    try:
        for stage in ex.subject.names[:-1]:
            STAGE_TASKS[stage](ex, progress=progress and kinds.STAGES[stage].shows_progress)
        return promote(ex)
    except BaseException as exc:
        execution.abort(ex, exc)
        raise
