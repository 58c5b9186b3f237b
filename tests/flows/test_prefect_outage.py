"""A team's Prefect API that goes away in the middle of a run: the MLflow record and the exit code say what happened."""

from __future__ import annotations

import subprocess
import time

import pytest

from tasks.services import tracking
from tests.helpers import BIN, all_runs, env_with_venv, every_run
from tests.servers import prefect_server, wait_until

pytestmark = pytest.mark.slow


def test_a_run_whose_prefect_api_goes_away_ends_failed_saying_so(project_dir, tmp_path):
    with prefect_server(tmp_path) as api:
        # Prefect's client retries each call PREFECT_CLIENT_MAX_RETRIES times with a doubling back-off (5 by
        # default: about a minute a call, several calls); one retry keeps the test short and the path the same.
        env = {**env_with_venv(), "PREFECT_API_URL": api["PREFECT_API_URL"], "PREFECT_CLIENT_MAX_RETRIES": "1"}
        run = subprocess.Popen([str(BIN / "stockflow"), "run"], cwd=project_dir, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)  # fmt: skip
        wait_until(lambda: all_runs(project_dir), "the run's start", run)  # its MLflow run is open: stop the API
    started = time.monotonic()
    out, err = run.communicate(timeout=600)
    assert run.returncode == 1, out[-2000:] + err[-3000:]
    assert f"stockflow: the Prefect API {api['PREFECT_API_URL']} stopped answering" in err
    assert "Traceback" not in err
    (record,) = every_run(project_dir)  # the one run, in any experiment
    assert record.info.status == "FAILED"
    assert record.data.tags[tracking.FAILURE].startswith("the Prefect API stopped answering (ConnectError")
    assert not any((project_dir / ".stockflow" / "runs").glob("*"))  # its workspace is removed, as on any failure
    assert time.monotonic() - started < 120  # the client's bound on retries holds: it gives up, it does not hang
