"""MLflow: one run per pipeline execution, its tags, and the stage-by-stage logging into it.

Stages log into a run they are handed by id (the Prefect flow creates it), or,
under `dvc repro`, into the run recorded in `outputs/<ticker>/mlflow_run.json`.
Between stages the run stays RUNNING; the last stage marks it FINISHED and a
failing stage marks it FAILED.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import yaml

from stockflow.config import Params
from tasks.project import Project


def tracking_uri(project: Project) -> str:
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    (project.root / "mlruns").mkdir(exist_ok=True)
    return f"sqlite:///{project.root / 'mlruns' / 'mlflow.db'}"


def configure(project: Project, params: Params) -> str:
    """Point MLflow at the project's store and experiment; returns the experiment id."""
    import mlflow

    uri = tracking_uri(project)
    mlflow.set_tracking_uri(uri)
    name = params.mlflow.experiment
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        mlflow.set_experiment(experiment_id=experiment.experiment_id)
        return experiment.experiment_id
    # Artifacts beside the database (mlruns/artifacts by default), unless a server decides where they go.
    location = (
        (Path(uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri() if uri.startswith("sqlite:") else None
    )
    experiment_id = mlflow.create_experiment(name, artifact_location=location)
    mlflow.set_experiment(experiment_id=experiment_id)
    return experiment_id


def _git(project: Project, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=project.root, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def code_version(project: Project) -> dict[str, str]:
    commit = _git(project, "rev-parse", "HEAD") or "unknown"
    status = _git(project, "status", "--porcelain", "--untracked-files=no")
    dirty = "unknown" if status is None else str(bool(status)).lower()
    return {"mlflow.source.git.commit": commit, "stockflow.git_commit": commit, "stockflow.git_dirty": dirty}


def data_version(project: Project, ticker: str) -> dict[str, str]:
    """The DVC version of data/ (md5 in data.dvc) and the md5 of the ticker's file itself."""
    tags = {}
    dvc_file = project.root / "data.dvc"
    if dvc_file.exists():
        outs = (yaml.safe_load(dvc_file.read_text()) or {}).get("outs") or [{}]
        tags["stockflow.data_version"] = str(outs[0].get("md5", "unknown"))
    else:
        tags["stockflow.data_version"] = "untracked"
    path = project.data_file(ticker)
    if path.exists():
        tags["stockflow.data_file_md5"] = hashlib.md5(path.read_bytes()).hexdigest()
    return tags


def open_run(project: Project, params: Params, ticker: str, trigger: str, run_name: str | None = None) -> str:
    """Create the pipeline's run with every param and its provenance tags; it stays RUNNING."""
    from mlflow import MlflowClient
    from mlflow.entities import Param

    experiment_id = configure(project, params)
    client = MlflowClient()
    tags = {
        **code_version(project),
        **data_version(project, ticker),
        "stockflow.ticker": ticker,
        "stockflow.trigger": trigger,
        "mlflow.runName": run_name or f"{ticker}-{trigger.split(':')[0]}",
    }
    run = client.create_run(experiment_id, tags=tags)
    items = [Param(k, str(v)) for k, v in sorted(params.flat().items())]
    for i in range(0, len(items), 100):
        client.log_batch(run.info.run_id, params=items[i : i + 100])
    return run.info.run_id


@contextmanager
def stage_run(project: Project, params: Params, run_id: str, final: bool) -> Iterator[Any]:
    """Make `run_id` the active run for one stage's logging.

    On success the run returns to RUNNING (or FINISHED after the last stage);
    on an exception it is marked FAILED and the exception goes on.
    """
    import mlflow

    configure(project, params)
    mlflow.start_run(run_id=run_id)
    try:
        yield mlflow.active_run()
    except BaseException as exc:
        mlflow.set_tag("stockflow.failure", f"{type(exc).__name__}: {exc}"[:4000])
        mlflow.end_run(status="FAILED")
        raise
    mlflow.end_run(status="FINISHED")
    if not final:
        mlflow.MlflowClient().update_run(run_id, status="RUNNING")


def mark_failed(project: Project, params: Params, run_id: str, reason: str) -> None:
    from mlflow import MlflowClient

    configure(project, params)
    client = MlflowClient()
    run = client.get_run(run_id)
    if "stockflow.failure" not in run.data.tags:  # keep the failing stage's own, more precise reason
        client.set_tag(run_id, "stockflow.failure", reason[:4000])
    if run.info.status != "FAILED":
        client.set_terminated(run_id, status="FAILED")


def log_figure(fig: Any, path: str) -> None:
    import matplotlib.pyplot as plt
    import mlflow

    mlflow.log_figure(fig, path)
    plt.close(fig)


def log_file(path: Path, folder: str | None = None) -> None:
    import mlflow

    mlflow.log_artifact(str(path), artifact_path=folder)


def log_stage_metrics(stage: str, metrics: dict[str, Any]) -> None:
    """Numbers only, named `<stage>.<key>`; non-finite values are skipped, not faked."""
    import math

    import mlflow

    clean = {}
    for key, value in metrics.items():
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if math.isfinite(value):
            clean[f"{stage}.{key}"] = float(value)
    if clean:
        mlflow.log_metrics(clean)
