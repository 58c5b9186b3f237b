"""What several tests do: run the pipeline the way the flow does (without Prefect), look into the MLflow store."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import mlflow

from tasks.kinds import UNIVERSE
from tasks.services import execution

BIN = Path(sys.executable).parent


def execute(root: Path, overrides: list[str] | tuple[str, ...] = (), ticker: str = "sp500", upto: str | None = None,
            name: str | None = None, universe: str | None = None) -> dict:  # fmt: skip
    """begin -> every stage -> conclude, as flows/retrain.py orders them; abort on any error (then re-raise).

    With `upto`, stop after that stage and return the open execution instead (its run stays RUNNING). With
    `universe`, the universe of that name (its tickers from the settings) instead of `ticker`.
    """
    subject = ticker
    if universe is not None:
        from tasks.services.workspace import Workspace

        tickers = Workspace.project(root).load_params(list(overrides)).universes.get(universe, ())
        subject = UNIVERSE.subject(universe, {universe: tuple(tickers)})
    ex = execution.begin(root, subject, list(overrides), trigger="test", name=name)
    try:
        for stage in ex.subject.names[:-1]:
            execution.compute(ex, stage)
            if stage == upto:
                return {"execution": ex}
        return execution.conclude(ex)
    except BaseException as exc:
        execution.abort(ex, exc)
        raise


def client(root: Path) -> mlflow.MlflowClient:
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}"
    mlflow.set_tracking_uri(uri)
    return mlflow.MlflowClient(uri)


def all_runs(root: Path, order: str = "ASC") -> list:
    c = client(root)
    experiment = c.get_experiment_by_name("stockflow")
    if experiment is None:
        return []
    return c.search_runs([experiment.experiment_id], order_by=[f"attributes.start_time {order}"], max_results=500)


def every_run(root: Path) -> list:
    """The runs of every experiment in the project's store (Default included), oldest first."""
    c = client(root)
    ids = [e.experiment_id for e in c.search_experiments()]
    return c.search_runs(ids, order_by=["attributes.start_time ASC"], max_results=1000) if ids else []


def env_with_venv(**extra: str) -> dict[str, str]:
    """The environment a user has with the venv active (dvc.yaml's `python` is the venv's), and what `extra` sets:
    a team's servers (MLFLOW_TRACKING_URI, PREFECT_API_URL), never the test process's own."""
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}"}
    env.pop("MLFLOW_TRACKING_URI", None)
    env.pop("PREFECT_API_URL", None)
    return {**env, **extra}


def dvc(root: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True,
                          env=env_with_venv(**env))  # fmt: skip


def ran(out: subprocess.CompletedProcess) -> list[str]:
    """The stages a `dvc repro` ran, from its output ('Running stage 'train@sp500':')."""
    return [line.split("'")[1] for line in out.stdout.splitlines() if line.startswith("Running stage")]


# Where the tools keep their state by default, in the home of whoever runs the tests (and DVC's site cache).
TOOL_STATE = (".prefect", ".keras", ".mlflow", ".config/dvc", ".cache/dvc", ".config/matplotlib", ".cache/matplotlib")


def tool_state_outside() -> dict[str, tuple[int, int]]:
    """Every file the tools keep in the real home (and /var/tmp/dvc), with its modification time and size."""
    import pwd

    home = Path(pwd.getpwuid(os.getuid()).pw_dir)
    found = {}
    for folder in [home / name for name in TOOL_STATE] + [Path("/var/tmp/dvc")]:
        for path in folder.rglob("*") if folder.is_dir() else []:
            if path.is_file():
                stat = path.stat()
                found[str(path)] = (stat.st_mtime_ns, stat.st_size)
    return found


def prefect_runs(flow_name: str) -> list:
    """The flow runs of a flow in the test harness's Prefect database, newest first."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowFilter, FlowFilterName
    from prefect.client.schemas.sorting import FlowRunSort

    async def read():
        async with get_client() as c:
            return await c.read_flow_runs(flow_filter=FlowFilter(name=FlowFilterName(any_=[flow_name])),
                                          sort=FlowRunSort.START_TIME_DESC, limit=50)  # fmt: skip

    return asyncio.run(read())
