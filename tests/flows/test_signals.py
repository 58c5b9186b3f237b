"""Stopping a real `stockflow run` mid-training: Ctrl-C, SIGTERM and kill -9 end cleanly and leave nothing behind."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import time

import httpx
import psutil
import pytest

from tasks.services import tracking
from tests.conftest import REPO
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
    assert procs["term"].wait(timeout=30) == 143, logs["term"].read_text()[-3000:]
    assert time.monotonic() - sent < 5, f"SIGTERM took {time.monotonic() - sent:.1f} s"
    text = logs["term"].read_text().strip()
    assert text.splitlines()[-1].startswith("stockflow: interrupted by SIGTERM"), text[-3000:]
    assert "Traceback" not in text and "WARNING" not in text, text[-3000:]
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

    # Prefect agrees once stockflow next starts a server on that database (the runs' own, in this test process's
    # Prefect home): the killed run CRASHED, none RUNNING.
    code = ("import json; from flows.server import prefect_api; from tests.helpers import prefect_runs\n"
            "with prefect_api():\n"
            "    print(json.dumps([[r.infrastructure_pid, r.state.type.value, r.state.message]\n"
            "                      for r in prefect_runs('retrain')]))")  # fmt: skip
    out = subprocess.run([str(BIN / "python"), "-c", code], capture_output=True, text=True, env=env_with_venv(),
                         cwd=REPO, timeout=120)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    flow_runs = json.loads(out.stdout.strip().splitlines()[-1])
    by_process = {owner.rsplit(":", 1)[1]: (state, message) for owner, state, message in flow_runs}
    assert set(by_process) >= {str(p.pid) for p in procs.values()}
    state, message = by_process[str(procs["kill"].pid)]
    assert state == "CRASHED" and "ended without finishing the flow run" in message
    assert "RUNNING" not in {state for state, _ in by_process.values()}


def start_watchlist(root, log) -> subprocess.Popen:
    """Two tickers, one at a time, on the default runner (a process pool)."""
    return subprocess.Popen([str(BIN / "stockflow"), "run", "--root", str(root), "--tickers", "sp500,acme",
                             "--workers", "1", *LONG], stdout=log, stderr=subprocess.STDOUT,
                            env=env_with_venv(), start_new_session=True)  # fmt: skip


def runs_of(root, proc: subprocess.Popen) -> tuple:
    """A watchlist process's parent run and its children (by ticker)."""
    runs = all_runs(root)
    parent = next((r for r in runs if r.data.tags.get(tracking.PID) == str(proc.pid)), None)
    if parent is None:
        return None, {}
    children = {r.data.tags[tracking.TICKER]: r for r in runs
                if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id}  # fmt: skip
    return parent, children


def training_shown(server: psutil.Process, child) -> bool:
    """Whether a watchlist's Prefect server shows its ticker's training past the first epoch (a progress artifact).

    Until then TensorFlow is tracing the first epoch's graph (2-4 s, more on a loaded machine): a stop waits for it.
    """
    port = server.cmdline()[server.cmdline().index("--port") + 1]
    flow_run = child.data.tags[tracking.PREFECT_RUN]  # the ticker's own flow run: the database is shared
    found = httpx.post(f"http://127.0.0.1:{port}/api/artifacts/filter", timeout=5, json={
        "artifacts": {"type": {"any_": ["progress"]}, "flow_run_id": {"any_": [flow_run]}}}).json()  # fmt: skip
    return any(a["data"] > 0 for a in found)


def test_stopping_a_watchlist_stops_its_workers_and_its_one_server(project_dir, tmp_path):
    """SIGTERM and kill -9 of two watchlists at once (Ctrl-C and the Dask runner: see the README, checked by hand).

    SIGTERM reaches the watchlist process alone, as from a service manager: its workers hear of it from it.
    """
    shutil.copy(project_dir / "data" / "sp500.csv", project_dir / "data" / "acme.csv")
    logs = {name: tmp_path / f"{name}.log" for name in ("term", "kill")}
    procs = {name: start_watchlist(project_dir, log.open("w")) for name, log in logs.items()}
    deadline = time.monotonic() + 300
    for name, proc in procs.items():  # the first ticker training, in the worker process
        while not [r for r in runs_of(project_dir, proc)[1].values() if "time/preprocess_s" in r.data.metrics]:
            assert proc.poll() is None, logs[name].read_text()
            assert time.monotonic() < deadline, "the watchlists never reached training"
            time.sleep(1)
    descendants = {name: psutil.Process(p.pid).children(recursive=True) for name, p in procs.items()}
    for name, processes in descendants.items():
        servers = [p for p in processes if "uvicorn" in " ".join(p.cmdline())]
        assert len(servers) == 1, f"{name}: one Prefect server per stockflow process, not {servers}"
        while not training_shown(servers[0], next(iter(runs_of(project_dir, procs[name])[1].values()))):
            assert procs[name].poll() is None, logs[name].read_text()
            assert time.monotonic() < deadline, "the watchlists never showed training under way"
            time.sleep(0.5)

    sent = time.monotonic()
    procs["term"].send_signal(signal.SIGTERM)  # the watchlist process alone
    procs["kill"].kill()
    for name, code in (("term", 143),):
        assert procs[name].wait(timeout=30) == code, logs[name].read_text()[-3000:]
        assert time.monotonic() - sent < 5, f"{name} took {time.monotonic() - sent:.1f} s"
        text = logs[name].read_text().strip()
        assert text.splitlines()[-1].startswith(f"stockflow: interrupted by SIG{name.upper()}"), text[-3000:]
        assert "Traceback" not in text and "WARNING" not in text, text[-3000:]
    procs["kill"].wait(timeout=10)
    for name, processes in descendants.items():
        assert gone(processes, within=30), f"{name} left {[p for p in processes if p.is_running()]} running"

    for name, proc in procs.items():
        parent, children = runs_of(project_dir, proc)
        assert len(children) == 1  # the second ticker never started
        assert {r.info.status for r in children.values()} == {"FAILED"}, name
        if name == "kill":  # the orphaned worker stopped itself and said why
            for run in children.values():
                assert f"the watchlist process {proc.pid} that started this worker died" in run.data.tags[
                    tracking.FAILURE]  # fmt: skip
        else:
            assert parent.info.status == "FAILED" and parent.data.tags[tracking.FAILURE] == "interrupted by SIGTERM"
    assert not client(project_dir).search_registered_models()
