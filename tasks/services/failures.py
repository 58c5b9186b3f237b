"""What a run's failure says, in a line, whatever ended it: a signal, bad data, a user's mistake, a service gone."""

from __future__ import annotations

from stockflow.errors import DataValidationError, Interrupted, StockflowError
from tasks.services.process import stop_cause


def failure_reason(exc: BaseException) -> str:
    """What a run's `stockflow.failure` tag says about an exception, in a line."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by SIGINT"
    if isinstance(exc, Interrupted) or type(exc).__name__ == "TerminationSignal":  # Prefect's SIGTERM
        name = getattr(exc, "signal_name", "SIGTERM")
        cause = stop_cause() if name == "SIGTERM" else ""  # set when this process stopped itself, and why
        return f"interrupted by {name}" + (f": {cause}" if cause else "")
    if isinstance(exc, DataValidationError):  # which file: a universe's run reads many
        return "data validation failed: " + "; ".join(f.line() for f in exc.report.errors) + f" ({exc.report.source})"
    if isinstance(exc, StockflowError):
        return str(exc)
    if prefect_api_gone(exc):
        return f"the Prefect API stopped answering ({type(exc).__name__}: {exc})"
    return f"{type(exc).__name__}: {exc}"


def stopped(exc: BaseException) -> bool:
    """Whether `exc` is a signal that stopped the run (Ctrl-C, SIGTERM), not something that went wrong in it."""
    return isinstance(exc, (Interrupted, KeyboardInterrupt)) or type(exc).__name__ == "TerminationSignal"


def prefect_api_gone(exc: BaseException) -> bool:
    """Whether `exc` is the Prefect client giving up on its API (a team's server gone): httpx's transport errors.

    MLflow speaks HTTP through requests, so an httpx error in a run is Prefect's.
    """
    import httpx

    return isinstance(exc, httpx.TransportError)
