"""Where a watchlist's tickers run: a pool of processes on this machine, a Dask cluster started here, or one
already running. Configuration, not code paths: every runner runs the same per-ticker task.

Each worker is a long-lived process: its first ticker pays the heavy imports (TensorFlow,
MLflow, Great Expectations), the next ones do not. TensorFlow's thread pools are sized
so that the workers together use the machine's cores, not each all of them
($STOCKFLOW_TF_THREADS sets it yourself).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import threading
import time
from typing import Any

from tasks.services.process import quiet, stop_self

THREADS = "STOCKFLOW_TF_THREADS"
WATCHLIST_PID = "STOCKFLOW_WATCHLIST_PID"  # the process whose workers these are: they stop when it is gone
GRACE_S = 10  # after the watchlist process dies: time for a worker's run to be recorded FAILED before it exits


def threads_per_worker(workers: int) -> int:
    return max(1, (os.cpu_count() or 1) // max(1, workers))


def task_runner(kind: str, workers: int, address: str | None = None) -> Any:
    """The Prefect task runner for `kind`: `local` (process pool), `dask` (LocalCluster, or `address`)."""
    threads = str(threads_per_worker(workers))
    os.environ[WATCHLIST_PID] = str(os.getpid())  # inherited by the workers started here, not by a running cluster
    # multiprocessing's resource tracker, a process of its own, warns of a stopped pool's semaphores at exit.
    os.environ.setdefault("PYTHONWARNINGS", "ignore:resource_tracker:UserWarning")
    if kind == "local" and not address:
        from prefect.task_runners import ProcessPoolTaskRunner

        os.environ.setdefault(THREADS, threads)  # the pool's processes start with this environment
        return ProcessPoolTaskRunner(max_workers=workers, initializer=ignore_interrupts)
    from prefect_dask import DaskTaskRunner

    if address:
        return DaskTaskRunner(address=address)
    os.environ.setdefault(THREADS, threads)  # the cluster's worker processes start with this environment
    return DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={"n_workers": workers, "threads_per_worker": 1, "processes": True,
                        "host": "127.0.0.1", "dashboard_address": "127.0.0.1:0"},
    )  # fmt: skip


def ignore_interrupts() -> None:
    """A pool worker ignores SIGINT: a stop reaches it from the watchlist process, once (`stop_workers`).

    Ctrl-C in a terminal reaches the whole process group: the workers would be interrupted a
    second time, by the watchlist's SIGTERM, while they record the first.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def prepare_worker() -> None:
    """In a worker, before its first ticker: quiet libraries, TensorFlow's threads, the heavy imports (once)."""
    threads = os.environ.get(THREADS)
    if threads:  # only effective before TensorFlow starts, which is why it happens here, first
        os.environ.setdefault("TF_NUM_INTRAOP_THREADS", threads)
        os.environ.setdefault("TF_NUM_INTEROP_THREADS", threads)
    quiet()
    _stop_with_watchlist()
    import great_expectations  # noqa: F401
    import keras  # noqa: F401
    import mlflow  # noqa: F401


def stop_workers() -> None:
    """SIGTERM to the worker processes started here (pool or LocalCluster): each records its run FAILED and ends.

    Without it a stopped watchlist would wait for its workers to finish, and register, their tickers.
    """
    for child in multiprocessing.active_children():
        with contextlib.suppress(ProcessLookupError):
            os.kill(child.pid, signal.SIGTERM)


_watching = False


def _stop_with_watchlist() -> None:
    """In a worker started for a watchlist: when that process dies (kill -9), stop too rather than train on.

    Pool and LocalCluster workers outlive a killed parent: they would finish their ticker, register
    its model and report to a Prefect server that is gone. Here the worker gets SIGTERM as soon as it is
    orphaned (its run is then recorded FAILED, as for a stopped `stockflow run`), and exits after a grace
    period whatever it is doing. A cluster's own workers (`--dask-address`), and the watchlist process
    itself, have another parent and are not watched.
    """
    global _watching
    watched = os.environ.get(WATCHLIST_PID, "")
    if _watching or not watched.isdigit() or os.getppid() != int(watched):
        return
    _watching = True

    def watch() -> None:
        while os.getppid() == int(watched):
            time.sleep(1)
        stop_self(f"the watchlist process {watched} that started this worker died")
        time.sleep(GRACE_S)
        os._exit(143)

    threading.Thread(target=watch, name="stockflow-watchlist-watchdog", daemon=True).start()
