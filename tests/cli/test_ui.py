"""`stockflow ui` as people start it: from the venv's bin without activating it, one worker, the runs page printed."""

from __future__ import annotations

import subprocess

import pytest
import requests

from tests.servers import BIN, free_port, stop, wait_until

pytestmark = pytest.mark.slow


def test_ui_starts_without_an_activated_venv(project_dir, tmp_path):
    port = free_port()
    log = tmp_path / "ui.log"
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # no venv on PATH: the command must find its own mlflow
    with log.open("w") as out:
        proc = subprocess.Popen([str(BIN / "stockflow"), "ui", "--root", str(project_dir), "--port", str(port)],
                                stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        wait_until(lambda: requests.get(f"http://127.0.0.1:{port}/health", timeout=2).ok, "stockflow ui", proc, log)
        text = log.read_text()
        assert f"http://127.0.0.1:{port}/#/experiments/" in text and "workflowType=machine_learning" in text
        assert "Traceback" not in text and "DeprecationWarning" not in text
    finally:
        stop(proc)
