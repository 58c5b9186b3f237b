"""The six stages in order, and how `dvc repro` runs one of them into a shared MLflow run."""

from __future__ import annotations

import sys
from collections.abc import Callable
from types import ModuleType

from stockflow.config import Params
from tasks import backtest, evaluate, preprocess, promote, tracking, train, validate
from tasks.project import STAGES, Project, read_json, write_json

MODULES: dict[str, ModuleType] = {
    "validate": validate,
    "preprocess": preprocess,
    "train": train,
    "evaluate": evaluate,
    "backtest": backtest,
    "promote": promote,
}
assert tuple(MODULES) == STAGES


def stage_function(name: str) -> Callable[..., dict]:
    return getattr(MODULES[name], name)


def dvc_run_id(project: Project, params: Params, ticker: str, stage: str) -> str:
    """The run this `dvc repro` stage logs into.

    A stage joins the run of the current repro if that run has not logged this
    stage yet. A stage that runs again starts a new run (a new pipeline
    execution) and first re-logs the outputs of the stages before it, which
    DVC has just confirmed are current, so every run is complete on its own.
    """
    from mlflow import MlflowClient

    state_file = project.run_file(ticker)
    state = read_json(state_file) if state_file.exists() else None
    if state and stage not in state["stages"]:
        tracking.configure(project, params)
        try:
            status = MlflowClient().get_run(state["run_id"]).info.status
        except Exception:
            status = None
        if status in ("RUNNING", "FINISHED"):
            return state["run_id"]
    run_id = tracking.open_run(project, params, ticker, trigger="dvc")
    upstream = list(STAGES[: STAGES.index(stage)])
    for name in upstream:
        with tracking.stage_run(project, params, run_id, final=False):
            MODULES[name].record(project, params, ticker)
    write_json(state_file, {"run_id": run_id, "stages": upstream})
    return run_id


def dvc_stage(stage: str, overrides: tuple[str, ...] = ()) -> int:
    """Entry point of a dvc.yaml stage: params from params.yaml, ticker from `data.ticker`."""
    from stockflow.validation import DataValidationError

    project = Project.here()
    params = project.load_params(overrides)
    ticker = params.data.ticker
    run_id = dvc_run_id(project, params, ticker, stage)
    try:
        stage_function(stage)(project, params, ticker, run_id, final=stage == STAGES[-1])
    except DataValidationError as exc:
        print(exc.report.to_text(), file=sys.stderr)
        if validate.restore_valid_data_version(project):
            print("data.dvc restored to the last validated data version.", file=sys.stderr)
        return 1
    state = read_json(project.run_file(ticker))
    write_json(project.run_file(ticker), {**state, "stages": [*state["stages"], stage]})
    return 0
