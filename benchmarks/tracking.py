"""How fast a finished run's headline figures come back through MLflow's REST API, and what the UI costs in memory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.timing import timed


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    import requests

    start = time.perf_counter()
    while time.perf_counter() - start < timeout:
        try:
            if requests.get(url, timeout=2).ok:
                return time.perf_counter() - start
        except requests.ConnectionError:
            pass
        if proc.poll() is not None:
            raise RuntimeError("the server exited")
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer in {timeout} s")


def _rss_mb(pid: int) -> float:
    import psutil

    root = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)]) / 2**20


def main(store_uri: str) -> None:
    """Against the store the pipeline bench just wrote: REST latency to the headline figures, UI memory by workers."""
    import requests

    from stockflow.reporting.headline import MLFLOW_PREFIX, NAMES

    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    print("\nMLflow UI and REST, on the bench's store")
    for workers in (1, 4):
        port = _port()
        proc = subprocess.Popen(
            [sys.executable, "-m", "mlflow", "ui", "--backend-store-uri", store_uri, "--host", "127.0.0.1",
             "--port", str(port), "--workers", str(workers)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, start_new_session=True,
        )  # fmt: skip
        try:
            base = f"http://127.0.0.1:{port}"
            started = _wait(f"{base}/health", proc)
            api = f"{base}/api/2.0/mlflow"

            def headline(api: str = api) -> dict:
                exp = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": "bench"}, timeout=10)
                runs = requests.post(f"{api}/runs/search", timeout=10, json={
                    "experiment_ids": [exp.json()["experiment"]["experiment_id"]], "max_results": 1,
                    "order_by": ["attributes.start_time DESC"]}).json()["runs"]  # fmt: skip
                metrics = {m["key"]: m["value"] for m in runs[0]["data"]["metrics"]}
                return {k: metrics[MLFLOW_PREFIX + k] for k in NAMES if MLFLOW_PREFIX + k in metrics}

            figures, first = timed(headline)
            _, warm = timed(lambda: [headline() for _ in range(10)])
            time.sleep(2)
            print(f"  mlflow ui --workers {workers}: healthy in {started:.1f} s, {_rss_mb(proc.pid):,.0f} MB; "
                  f"headline figures of the newest run ({len(figures)}) in {first * 1000:.0f} ms cold, "
                  f"{warm * 100:.0f} ms warm")  # fmt: skip
        finally:
            proc.terminate()
            proc.wait(timeout=20)
    print(f"  `stockflow ui` starts one worker (and no job runner): {Path(sys.executable).parent / 'stockflow'} ui")
