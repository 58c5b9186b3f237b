"""Where a watchlist's tickers run: a pool of processes on this machine, a Dask cluster started here, or one
already running. Configuration, not code paths: every runner runs the same per-ticker task.

Each worker is a long-lived process: its first ticker pays the heavy imports (TensorFlow,
MLflow, Great Expectations), the next ones do not. TensorFlow's thread pools are sized
so that the workers together use the machine's cores, not each all of them
($STOCKFLOW_TF_THREADS sets it yourself).
"""

from __future__ import annotations

import os
from typing import Any

THREADS = "STOCKFLOW_TF_THREADS"


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def task_runner(kind: str, workers: int, address: str | None = None) -> Any:
    """The Prefect task runner for `kind`: `local` (process pool), `dask` (LocalCluster, or `address`)."""
    threads = str(threads_per_worker(workers))
    if kind == "local" and not address:
        from prefect.task_runners import ProcessPoolTaskRunner

        os.environ.setdefault(THREADS, threads)  # the pool's processes start with this environment
        return ProcessPoolTaskRunner(max_workers=workers)
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    os.environ.setdefault(THREADS, threads)  # the cluster's worker processes start with this environment
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                        "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
    )  # fmt: skip


def prepare_worker() -> None:
    """In a worker, before its first ticker: quiet libraries, TensorFlow's threads, the heavy imports (once)."""
    from tasks.process import quiet

    threads = os.environ.get(THREADS)
    if threads:  # only effective before TensorFlow starts, which is why it happens here, first
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", threads)
    quiet()
    import great_expectations  # noqa: F401
    import keras  # noqa: F401
    import mlflow  # noqa: F401
