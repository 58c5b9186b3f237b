"""Process-wide set-up: quiet logs, the heavy libraries' import, and signals that end a run cleanly."""

from __future__ import annotations

import gc
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

from stockflow.errors import Interrupted

_ENV = {
    "TF_CPP_MIN_LOG_LEVEL": "3",
    "TF_ENABLE_ONEDNN_OPTS": "0",
    "KERAS_BACKEND": "tensorflow",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_LOGGING_LEVEL": "WARNING",
    "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR": "false",
    "MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT": "true",
    "DO_NOT_TRACK": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "DVC_NO_ANALYTICS": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "120",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    # Flow and task logs (each stage's line, the gate's decision) reach the Prefect API at INFO; the terminal
    # shows only the summary: a failure's message comes from stockflow, not as pages of engine tracebacks.
    "PREFECT_LOGGING_LOGGERS_PREFECT_FLOW_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_LOGGERS_PREFECT_TASK_RUNS_LEVEL": "INFO",
    "PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL": "CRITICAL",
    "PREFECT_UI_ENABLED": "false",
    "GIT_PYTHON_REFRESH": "quiet",
    "DASK_LOGGING__DISTRIBUTED": "error",  # a stopped cluster's workers warn of every cancelled task
}


def quiet(verbose: bool = False) -> None:
    """Set the environment that keeps libraries quiet (values already set by the user win)."""
    for key, value in _ENV.items():
        os.environ.setdefault(key, value)
    if verbose:
        os.environ["PREFECT_LOGGING_LEVEL"] = "INFO"
        os.environ["PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL"] = "INFO"
    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=UserWarning, module=r"(mlflow|great_expectations|keras|pydantic).*")
    # A universe's ridge baseline on collinear features (excess = return - market): regularised, so harmless.
    warnings.filterwarnings("ignore", message="An ill-conditioned matrix")
    for name in (
        "mlflow",
        "alembic",
        "absl",
        "tensorflow",
        "great_expectations",
        "urllib3",
        "matplotlib",
        "h5py",
        "dvc",
    ):
        logging.getLogger(name).setLevel(logging.ERROR)


@contextmanager
def importing() -> Iterator[None]:
    """Import the heavy libraries with the garbage collector paused, then exempt what they built from it.

    TensorFlow, Keras, Prefect and MLflow build millions of long-lived objects as they import, and each
    full collection on the way walks all of them again: 3 s of a 25 s `stockflow run`, for cycles that
    are not there. Frozen (`gc.freeze`), they are never walked again; what the run creates later is
    collected as before.
    """
    if not gc.isenabled():  # someone else paused it: theirs to resume
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


_deferring = 0
_pending: Interrupted | None = None
_stopped = False


def stop_requested() -> bool:
    """Whether SIGINT or SIGTERM reached this process's handler: a worker then starts nothing new."""
    return _stopped


def _handler(signum: int, frame: object) -> None:
    global _pending, _stopped
    _stopped = True
    exc = Interrupted(signal.Signals(signum).name, 128 + signum)
    if _deferring:
        _pending = exc
        return
    raise exc


def raise_on_signals() -> None:
    """SIGINT and SIGTERM raise `Interrupted` in the main thread, so a run ends FAILED and cleans up.

    A BaseException, not an Exception: libraries that catch Exception let it through.
    """
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, _handler)


_cause = ""


def stop_self(cause: str) -> None:
    """SIGTERM to this process, with the reason its run's failure will give (`interrupted by SIGTERM: cause`)."""
    global _cause
    _cause = cause
    os.kill(os.getpid(), signal.SIGTERM)


def stop_cause() -> str:
    """Why this process sent itself SIGTERM (`stop_self`); empty when the signal came from outside."""
    return _cause


def check_signals() -> None:
    """Raise the signal that arrived while signals were deferred (a safe point: plain Python, between batches)."""
    global _pending
    if _pending is not None:
        exc, _pending = _pending, None
        raise exc


@contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT and SIGTERM back until `check_signals` or the end of the block.

    An exception raised from a signal handler in the middle of a TensorFlow op can come
    out as an unrelated TypeError; training checks between batches instead (milliseconds
    apart), and the gate's register-then-move-aliases step is never cut in two.
    Outside the main thread (a Dask or thread-pool worker) signals are not ours: no-op.
    """
    global _deferring
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    ours = [sig for sig in (signal.SIGINT, signal.SIGTERM) if signal.getsignal(sig) is not signal.SIG_IGN]
    previous = {sig: signal.signal(sig, _handler) for sig in ours}  # an ignored signal stays ignored
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    check_signals()


def host() -> str:
    """This machine's name, as runs and workspaces record it (a dead process is judged only on its own host)."""
    import socket

    return socket.gethostname()


def process_started(pid: int) -> float | None:
    """When process `pid` started (to tell it from a later process that reused the number), None if gone."""
    import psutil

    try:
        return psutil.Process(pid).create_time()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return None


def exit_without_hooks(code: int) -> NoReturn:
    """End the process now, once everything is recorded: the libraries' exit hooks (TensorFlow's, Prefect's,
    MLflow's) take seconds and have nothing left to do. MLflow's queues, when a user turned asynchronous
    logging on, are flushed first, and so are the log handlers and the terminal.

    `mlflow.flush_artifact_async_logging` is called only for an active run: with none, it *starts* one
    (`_get_or_start_run`) in the Default experiment, and `os._exit` then leaves it RUNNING forever."""
    mlflow = sys.modules.get("mlflow")
    if mlflow is not None:
        mlflow.flush_async_logging()
        if mlflow.active_run() is not None:
            mlflow.flush_artifact_async_logging()
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
