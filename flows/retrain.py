"""The `retrain` flow: validate -> preprocess -> train -> evaluate -> backtest for one ticker.

Tasks hand each other the project path, the ticker and the MLflow run id,
never DataFrames or models, so a flow can fan out over many tickers.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, runtime, task

from tasks.pipeline import stage_function
from tasks.project import STAGES, Project


def _stage_task(name: str):
    def run_stage(root: str, overrides: list[str], ticker: str, run_id: str) -> dict[str, Any]:
        project = Project(Path(root))
        params = project.load_params(overrides)
        return stage_function(name)(project, params, ticker, run_id, final=name == STAGES[-1])

    run_stage.__name__ = name
    return task(name=name, retries=0, log_prints=True)(run_stage)


STAGE_TASKS = {name: _stage_task(name) for name in STAGES}


@task(name="open_run")
def open_run(root: str, overrides: list[str], ticker: str) -> str:
    """Record the data version if data/ changed and passes the gate, then create the MLflow run."""
    from tasks import tracking

    project = Project(Path(root))
    params = project.load_params(overrides)
    flow_run_id = runtime.flow_run.id or "local"
    return tracking.open_run(project, params, ticker, trigger=f"prefect:{flow_run_id}")


@task(name="record_data_version")
def record_data_version(root: str, overrides: list[str], ticker: str, run_id: str) -> None:
    """Validated data becomes the recorded DVC version (a no-op when data.dvc already matches)."""
    import mlflow

    from tasks import tracking
    from tasks.ingest import record_data_version as dvc_add

    project = Project(Path(root))
    dvc_add(project)
    tracking.configure(project, project.load_params(overrides))
    for key, value in tracking.data_version(project, ticker).items():
        mlflow.MlflowClient().set_tag(run_id, key, value)


@flow(name="retrain", log_prints=True)
def retrain(ticker: str | None = None, root: str = ".", overrides: list[str] | None = None) -> dict[str, Any]:
    """Validate, preprocess, train, evaluate, backtest and gate one ticker; returns each stage's summary."""
    root = str(Path(root).resolve())
    overrides = list(overrides or [])
    params = Project(Path(root)).load_params(overrides)
    ticker = ticker or params.data.ticker
    logger = get_run_logger()
    run_id = open_run(root, overrides, ticker)
    logger.info("MLflow run %s for %s", run_id, ticker)
    results: dict[str, Any] = {"run_id": run_id, "ticker": ticker, "preset": params.preset}
    try:
        results["validate"] = STAGE_TASKS["validate"](root, overrides, ticker, run_id)
        record_data_version(root, overrides, ticker, run_id)
        for name in STAGES[1:]:
            results[name] = STAGE_TASKS[name](root, overrides, ticker, run_id)
    except BaseException as exc:
        from tasks import tracking

        # Stages mark their own failures; this covers anything between them.
        tracking.mark_failed(Project(Path(root)), params, run_id, f"{type(exc).__name__}: {exc}")
        raise
    return results
