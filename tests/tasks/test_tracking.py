"""The MLflow boundary: whose run is whose, where the store is, and dead runs found out."""

from __future__ import annotations

import subprocess
import sys

from tasks.services import tracking
from tasks.services.tracking import Tracker


def test_a_run_whose_process_died_is_marked_failed_by_the_next(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("DVC_ROOT", raising=False)
    tracker = Tracker(tmp_path, "stockflow")
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    pid = dead.stdout.strip()
    mine = tracker.open_run("alive", {}, {})
    gone = tracker.open_run("gone", {}, {})
    tracker.set_tags(gone, {tracking.PID: pid})  # as if the process that opened it had been killed
    other_host = tracker.open_run("elsewhere", {}, {})
    tracker.set_tags(other_host, {tracking.PID: pid, tracking.HOST: "another-machine"})

    assert tracker.fail_dead_runs() == [gone]
    assert tracker.get_run(gone).info.status == tracking.FAILED
    assert "ended without finishing the run" in tracker.get_run(gone).data.tags[tracking.FAILURE]
    assert tracker.get_run(mine).info.status == tracking.RUNNING  # this process is alive
    assert tracker.get_run(other_host).info.status == tracking.RUNNING  # not ours to judge


def test_the_store_is_the_projects_even_from_a_queued_experiments_copy(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    copy = tmp_path / "proj" / ".dvc" / "tmp" / "exps" / "tmp123"
    copy.mkdir(parents=True)
    monkeypatch.setenv("DVC_ROOT", str(tmp_path / "proj"))
    assert tracking.store_uri(copy) == f"sqlite:///{tmp_path / 'proj' / 'mlruns' / 'mlflow.db'}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://127.0.0.1:5000")
    assert tracking.store_uri(copy) == "http://127.0.0.1:5000"


def test_the_experiment_opens_on_its_runs(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    tracker = Tracker(tmp_path, "stockflow")
    tags = tracker.client.get_experiment(tracker.experiment_id).tags
    assert tags["mlflow.experimentKind"] == "custom_model_development"


def test_a_run_waits_for_a_server_that_answers_again_within_the_bound_and_no_longer():
    """The wait a finished execution makes for its server: a restart within `mlflow.wait_s` costs only the wait."""
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, HTTPServer

    import pytest

    from stockflow.errors import TrackingError
    from tests.servers import free_port

    class Health(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    port = free_port()
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    with pytest.raises(TrackingError, match="does not answer"):
        tracking.wait_until_reachable(url, 1.0, poll_s=0.2)  # down, and it stays down
    assert 1.0 <= time.monotonic() - started < 10

    servers = []

    def come_back():  # the port opens only now: until then every poll is refused
        servers.append(HTTPServer(("127.0.0.1", port), Health))
        servers[0].serve_forever()

    threading.Timer(1.0, come_back).start()
    started = time.monotonic()
    try:
        tracking.wait_until_reachable(url, 30.0, poll_s=0.2)
        assert 0.9 <= time.monotonic() - started < 10
    finally:
        servers[0].shutdown()
        servers[0].server_close()
