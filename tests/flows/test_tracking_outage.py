"""A team's `mlflow server` that stops in the middle of a run: nothing lost, the run recorded once it is back."""

from __future__ import annotations

import subprocess

import pytest
from mlflow import MlflowClient

from tasks.services import tracking, unrecorded
from tasks.services.workspace import remove_abandoned
from tests.helpers import BIN, env_with_venv, prefect_runs
from tests.servers import free_port, mlflow_server, wait_until

pytestmark = pytest.mark.slow


def _experiments(client: MlflowClient) -> list[str]:
    return [e.experiment_id for e in client.search_experiments()]


def test_a_run_outlives_its_tracking_server_and_is_recorded_once_it_is_back(
    project_dir, tmp_path, prefect_harness, monkeypatch
):
    from prefect.settings import PREFECT_API_URL

    backend, port = f"sqlite:///{tmp_path / 'server.db'}", free_port()
    url = f"http://127.0.0.1:{port}"
    # The team's servers: MLflow's, and a Prefect API (the test's) that outlives the run, to ask its state.
    env = env_with_venv(MLFLOW_TRACKING_URI=url, PREFECT_API_URL=PREFECT_API_URL.value())
    with mlflow_server(tmp_path, backend, port):
        server = MlflowClient(url)
        run = subprocess.Popen([str(BIN / "stockflow"), "run", "--set", "mlflow.wait_s=3"], cwd=project_dir,
                               env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        # The run is open and has recorded its start (its settings file is the last thing `begin` logs): stop.
        opened = lambda: [r for r in server.search_runs(_experiments(server))  # noqa: E731
                          if "params.yaml" in {a.path for a in server.list_artifacts(r.info.run_id)}]  # fmt: skip
        wait_until(opened, "the run's start on the server", run)
        (run_id,) = [r.info.run_id for r in opened()]
    out, err = run.communicate(timeout=600)

    # The stages ran on; at the end it waited 3 s, then said what happened and what to do, in one message.
    assert run.returncode == 1, out[-2000:] + err[-3000:]
    assert f"the MLflow tracking server {url} stopped answering during the run" in err and "(3 s)" in err
    assert f"`stockflow record {run_id}`" in err and "Traceback" not in err
    assert prefect_runs("retrain")[0].state_type.value == "FAILED"
    (kept,) = (project_dir / ".stockflow" / "runs").iterdir()
    assert (kept / "unrecorded.json").is_file() and (kept / "outputs" / "sp500" / "backtest" / "trades.csv").is_file()

    with mlflow_server(tmp_path, backend, port):
        server = MlflowClient(url)
        before = server.get_run(run_id)
        assert not [m for m in before.data.metrics if m.startswith("Headline/")]
        assert server.search_registered_models() == []  # nothing registered while the record could not be made
        # The next run's clean-up (as `begin` does it) keeps the outputs and says why the run was left open.
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        remove_abandoned(project_dir)
        assert (kept / "unrecorded.json").is_file()
        tracker = tracking.Tracker(project_dir, "stockflow")
        assert tracker.fail_dead_runs(unrecorded.reasons(project_dir)) == [run_id]
        assert f"`stockflow record {run_id}`" in server.get_run(run_id).data.tags[tracking.FAILURE]
        recorded = subprocess.run([str(BIN / "stockflow"), "record", run_id], cwd=project_dir, env=env,
                                  capture_output=True, text=True, timeout=600)  # fmt: skip
        assert recorded.returncode == 0, recorded.stdout[-2000:] + recorded.stderr[-3000:]
        assert f"MLflow run: {run_id}" in recorded.stdout
        after = server.get_run(run_id)
        assert after.info.status == "FINISHED" and tracking.FAILURE not in after.data.tags
        assert {"Headline/mae_pct", "time/train_s", "time/backtest_s", "promote/version"} <= set(after.data.metrics)
        assert after.data.tags["stockflow.data_version"] == before.data.tags["stockflow.data_version"]
        assert [v.version for v in server.search_model_versions("name = 'stockflow-sp500'")] == ["1"]
        assert not (project_dir / ".stockflow" / "runs").exists() or not any(
            (project_dir / ".stockflow" / "runs").iterdir()
        )
        assert [(r.info.run_id, r.info.status) for r in server.search_runs(_experiments(server))] == [
            (run_id, "FINISHED")
        ]
