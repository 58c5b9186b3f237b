"""Real servers on 127.0.0.1 for the tests that need them: PostgreSQL, an `mlflow server`, a Dask scheduler."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until(check, what: str, proc: subprocess.Popen | None = None, log: Path | None = None, timeout=120):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (requests.ConnectionError, OSError):
            pass
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what} exited: {log.read_text()[-3000:] if log else ''}")
        time.sleep(0.3)
    pytest.fail(f"{what} did not come up within {timeout} s")


def stop(proc: subprocess.Popen) -> None:
    from flows.server import stop as terminate

    terminate(proc, timeout=20)


class PostgreSQL(str):
    """A running cluster's SQLAlchemy URL, which can also restart the cluster (as an operator's maintenance does)."""

    restart: Callable[[], None]


@contextmanager
def postgresql() -> Iterator[PostgreSQL]:
    """A throwaway PostgreSQL cluster (Debian's binaries; `.ci/run` installs them); yields its SQLAlchemy URL."""
    import tempfile

    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    if not found:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql; .ci/run does it)")
    bindir = Path(found[-1]).parent
    # Not under pytest's tmp_path: as root, the server runs as `postgres`, who may not enter root's folders.
    tmp = Path(tempfile.mkdtemp(prefix="stockflow-pg-"))
    data, sock, port = tmp / "pg-data", tmp / "pg-sock", free_port()
    data.mkdir()
    sock.mkdir()
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(data, "postgres")
        shutil.chown(sock, "postgres")
        shutil.chown(tmp, "postgres")
    run = lambda *cmd: subprocess.run([*as_postgres, *cmd], check=True, capture_output=True, text=True)  # noqa: E731
    run(str(bindir / "initdb"), "-D", str(data), "-U", "postgres", "--auth-local=trust", "--auth-host=trust")
    run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-l", str(tmp / "pg.log"), "-o",
        f"-c listen_addresses=127.0.0.1 -p {port} -k {sock}", "start")  # fmt: skip
    try:
        run(str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "mlflow")
        url = PostgreSQL(f"postgresql+psycopg://postgres@127.0.0.1:{port}/mlflow")
        # -m fast: open connections are cut, as when the database host reboots.
        url.restart = lambda: run(str(bindir / "pg_ctl"), "-D", str(data), "-w", "-m", "fast", "-l",
                                  str(tmp / "pg.log"), "restart")  # fmt: skip
        yield url
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"],
                       capture_output=True)  # fmt: skip
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def mlflow_server(tmp: Path, backend: str, port: int | None = None) -> Iterator[str]:
    """`mlflow server` on `backend` with its own artifact store (in `tmp`: a restart on the same port and backend
    is the same server); yields its URL."""
    port = port or free_port()
    log = tmp / "mlflow-server.log"
    cmd = [str(BIN / "mlflow"), "server", "--backend-store-uri", backend,
           "--artifacts-destination", str(tmp / "server-artifacts"), "--host", "127.0.0.1", "--port", str(port),
           "--workers", "1"]  # fmt: skip
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    with log.open("a") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: requests.get(f"{url}/health", timeout=2).ok, "mlflow server", proc, log)
        yield url
    finally:
        stop(proc)


@contextmanager
def dask_cluster(tmp: Path, workers: int, env: dict[str, str]) -> Iterator[str]:
    """`dask scheduler` and `dask worker` processes, as a desk would run them; yields the scheduler's address."""
    port = free_port()
    address = f"tcp://127.0.0.1:{port}"
    log = tmp / "dask.log"
    out = log.open("w")
    scheduler = [str(BIN / "dask"), "scheduler", "--host", "127.0.0.1", "--port", str(port),
                 "--dashboard-address", "127.0.0.1:0"]  # fmt: skip
    procs = [subprocess.Popen(scheduler, stdout=out, stderr=subprocess.STDOUT, env=env)]
    try:
        wait_until(lambda: socket.create_connection(("127.0.0.1", port), timeout=1), "dask scheduler", procs[0], log)
        for _ in range(workers):
            procs.append(subprocess.Popen(
                [str(BIN / "dask"), "worker", address, "--nthreads", "1", "--host", "127.0.0.1",
                 "--dashboard-address", "127.0.0.1:0"], stdout=out, stderr=subprocess.STDOUT, env=env))  # fmt: skip
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(workers, timeout=120)
        yield address
    finally:
        for proc in reversed(procs):
            stop(proc)
        out.close()


@contextmanager
def prefect_server(tmp: Path) -> Iterator[dict[str, str]]:
    """`prefect server start` on 127.0.0.1 with its own home (database); yields the environment that points at it."""
    port = free_port()
    home = tmp / "prefect-home"
    home.mkdir()
    env = {**os.environ, "PREFECT_HOME": str(home), "PREFECT_API_URL": f"http://127.0.0.1:{port}/api",
           "PREFECT_SERVER_ANALYTICS_ENABLED": "false", "PREFECT_UI_ENABLED": "false"}  # fmt: skip
    log = tmp / "prefect-server.log"
    with log.open("w") as out:
        proc = subprocess.Popen([str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port),
                                 "--no-ui"], stdout=out, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    try:
        wait_until(lambda: requests.get(f"{env['PREFECT_API_URL']}/health", timeout=2).ok, "prefect server", proc, log)
        yield env
    finally:
        stop(proc)
