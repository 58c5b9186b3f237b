"""Stopping a real `stockflow run` mid-training: Ctrl-C, SIGTERM and kill -9 end cleanly and leave nothing behind."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time

import psutil
import pytest

from tasks import tracking
from tests.helpers import BIN, all_runs, client, env_with_venv, execute

pytestmark = pytest.mark.slow
LONG = ["--set", "train.epochs=1000", "--set", "train.patience=0"]


def start(root, log) -> subprocess.Popen:
    # Its own process group, as a terminal gives a foreground job: Ctrl-C reaches the whole group.
    return subprocess.Popen([str(BIN / "stockflow"), "run", "--root", str(root), *LONG], stdout=log,
                            stderr=subprocess.STDOUT, env=env_with_venv(), start_new_session=True)  # fmt: skip


def wait_for_training(proc: subprocess.Popen, log_path, timeout: float = 180) -> list[psutil.Process]:
    """Wait until the progress bar shows a finished epoch; the process's children (its Prefect server) then.

    Before the first epoch ends, TensorFlow is still tracing its graph (2-4 s here): a stop waits for that.
    """
    deadline = time.monotonic() + timeout
    while not re.search(r"\b[1-9][0-9]*/1000\b", log_path.read_text(errors="replace")):
        assert proc.poll() is None, log_path.read_text()
        assert time.monotonic() < deadline, "training never started"
        time.sleep(0.5)
    return psutil.Process(proc.pid).children(recursive=True)


def gone(processes: list[psutil.Process], within: float = 10) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if not any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in processes):
            return True
        time.sleep(0.2)
    return False


def test_ctrl_c_sigterm_and_kill_9_mid_training(project_dir, tmp_path):
    logs = {name: tmp_path / f"{name}.log" for name in ("int", "term", "kill")}
    procs = {name: start(project_dir, logs[name].open("w")) for name in logs}
    children = {name: wait_for_training(procs[name], logs[name]) for name in logs}
    assert all(children.values()), "each run has its own temporary Prefect server"

    sent = time.monotonic()
    os.killpg(procs["int"].pid, signal.SIGINT)  # what Ctrl-C in a terminal does
    procs["term"].send_signal(signal.SIGTERM)
    procs["kill"].kill()
    for name, code in (("int", 130), ("term", 143)):
        assert procs[name].wait(timeout=30) == code, logs[name].read_text()[-3000:]
        assert time.monotonic() - sent < 5, f"{name} took {time.monotonic() - sent:.1f} s"
        text = logs[name].read_text()
        last = text.strip().splitlines()[-1]
        assert f"interrupted by SIG{name.upper()}" in last and "Traceback" not in text, text[-3000:]
    procs["kill"].wait(timeout=10)
    for name in logs:
        assert gone(children[name]), f"{name} left {children[name]} running"

    runs = {r.data.tags[tracking.PID]: r for r in all_runs(project_dir)}
    assert runs[str(procs["int"].pid)].info.status == "FAILED"
    assert runs[str(procs["int"].pid)].data.tags[tracking.FAILURE] == "interrupted by SIGINT"
    assert runs[str(procs["term"].pid)].data.tags[tracking.FAILURE] == "interrupted by SIGTERM"
    assert runs[str(procs["kill"].pid)].info.status == "RUNNING"  # nobody was left to say otherwise...
    assert not client(project_dir).search_registered_models()

    execute(project_dir)  # ... until the next execution on this machine looks
    killed = client(project_dir).get_run(runs[str(procs["kill"].pid)].info.run_id)
    assert killed.info.status == "FAILED" and "ended without finishing the run" in killed.data.tags[tracking.FAILURE]
    assert len(list((project_dir / ".stockflow" / "runs").iterdir())) == 0  # the dead run's workspace went too
