"""A Prefect API for this process: the configured one, or a private temporary server that goes with it.

Without PREFECT_API_URL, Prefect starts a temporary server in the caller's process
group. Ctrl-C in a terminal then reaches the server too, and the dying flow spends
about a minute retrying to report its state to it; after a kill -9 the server is
orphaned and keeps listening. Here the same server (Prefect's own ASGI app, on the
same database) runs in its own session, so terminal signals reach only stockflow,
and the kernel stops it when stockflow dies, however it dies (Linux: PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

TEMPORARY = "STOCKFLOW_TEMPORARY_PREFECT"  # set while flows report to a server that goes away with this process

# Looked up here, in the parent: the child between fork and exec must not import or allocate much.
_PRCTL = ctypes.CDLL(None, use_errno=True).prctl if sys.platform.startswith("linux") else None
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Run in the server's process before it starts: SIGTERM when the process that started it dies."""
    if _PRCTL is not None:
        _PRCTL(_PR_SET_PDEATHSIG, signal.SIGTERM)


def _start_lock() -> Any:
    """A lock beside Prefect's database: servers started at once would race on a new database's migrations."""
    from filelock import FileLock
    from prefect.settings import PREFECT_HOME

    home = Path(PREFECT_HOME.value()).expanduser()
    home.mkdir(parents=True, exist_ok=True)
    # Released by the thread that sees the server answer (`_await_health`), not the one that took it.
    return FileLock(str(home / "stockflow-server-start.lock"), thread_local=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _drain(timeout: float = 5) -> None:
    """Send the logs and events still queued while the server is up (else their workers retry for a minute)."""
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker

    for worker in (APILogWorker, EventsWorker):
        with contextlib.suppress(Exception):  # a worker never started has nothing to send
            worker.drain_all(timeout=timeout)


def _await_health(server: subprocess.Popen, url: str, log: Any, starting: Any, failed: list[str]) -> None:
    """Wait until the server answers, then let the next server start; what went wrong, in `failed`."""
    import httpx
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    deadline = time.monotonic() + float(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value())
    try:
        with httpx.Client() as client:
            while True:
                try:
                    if client.get(f"{url}/health", timeout=2).status_code == 200:
                        # A Prefect client's first request: the server's first answer to it takes 0.7 s, here
                        # while this process is still busy, not when its first flow run starts.
                        with contextlib.suppress(httpx.HTTPError):
                            client.get(f"{url}/admin/version", timeout=30)
                        return
                except httpx.HTTPError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    failed.append(f"the temporary Prefect server did not start:\n{log.read().decode()[-2000:]}")
                    return
                time.sleep(0.1)
    finally:
        starting.release()


@contextmanager
def prefect_api(meanwhile: Callable[[], Any] | None = None) -> Iterator[str]:
    """Yield the API URL flows report to; a private server lives exactly as long as this block (or this process).

    `meanwhile` runs while a private server boots (seconds): the heavy imports a run needs anyway.
    """
    import prefect
    from prefect.context import refresh_global_settings_context
    from prefect.settings import (
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        get_current_settings,
        temporary_settings,
    )

    from flows.liveness import crash_orphans

    if PREFECT_API_URL.value():
        if meanwhile is not None:
            meanwhile()
        crash_orphans()
        yield PREFECT_API_URL.value()
        return
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {
        **os.environ,
        **get_current_settings().to_environment_variables(exclude_unset=True),
        "PREFECT_UI_ENABLED": "0",
        "PREFECT__SERVER_EPHEMERAL": "1",  # as Prefect runs its own temporary server: no background services
        "PREFECT__SERVER_FINAL": "1",
    }
    log = tempfile.TemporaryFile()  # noqa: SIM115 - the server writes to it for as long as it lives
    starting = _start_lock()
    starting.acquire()  # one server at a time migrates a new database; released once this one answers
    try:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "--app-dir", str(prefect.__module_path__.parent), "--factory",
             "prefect.server.api.server:create_app", "--host", "127.0.0.1", "--port", str(port), "--log-level", "error",
             "--lifespan", "on"],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
        )  # fmt: skip
    except BaseException:
        starting.release()
        raise
    try:
        failed: list[str] = []
        ready = threading.Thread(target=_await_health, args=(server, url, log, starting, failed), daemon=True,
                                 name="stockflow-prefect-server-start")  # fmt: skip
        ready.start()
        if meanwhile is not None:
            meanwhile()
        ready.join()
        if failed:
            raise RuntimeError(failed[0])
        previous = os.environ.get("PREFECT_API_URL")
        os.environ["PREFECT_API_URL"] = url  # for processes started from here (pool and Dask workers)
        os.environ[TEMPORARY] = "1"
        # ... and for threads Prefect starts here (a process pool's log and event forwarding): they read the
        # process-wide settings, which would otherwise start a second server of Prefect's own, out of our reach.
        refresh_global_settings_context()
        try:
            # No heartbeats: they are for a server's automations to find crashed runs, and this one has none
            # and ends with this process. A sync flow run waits up to 1 s at its end for its heartbeat thread.
            with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
                crash_orphans()  # a run killed earlier on this database: CRASHED, as MLflow says FAILED
                try:
                    yield url
                finally:
                    _drain()
        finally:
            os.environ.pop(TEMPORARY, None)
            if previous is None:
                os.environ.pop("PREFECT_API_URL", None)
            else:
                os.environ["PREFECT_API_URL"] = previous
            refresh_global_settings_context()
    finally:
        stop(server, timeout=5)
        log.close()


def stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM, then SIGKILL if it is still there after `timeout` seconds; reaped either way."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
