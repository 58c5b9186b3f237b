"""`stockflow record RUN_ID`: a run whose tracking server stopped answering, recorded once it is back.

Its execution was kept in its work folder (`tasks/services/unrecorded.py`): recording it is
concluding it (gate, register, publish) when its stages were done, else ending it FAILED
with its reason. Nothing is trained again.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stockflow.errors import StockflowError, UsageError
from tasks import kinds
from tasks.kinds import Subject
from tasks.services import tracking, unrecorded
from tasks.services.execution import Execution, abort, conclude
from tasks.services.workspace import RUNS, Workspace


def record_later(root: Path | str, run_id: str) -> dict[str, Any]:
    """Record a kept execution now that the server answers; its results (conclude's, or `failure`)."""
    import yaml

    from stockflow.config import parse_params
    from tasks.services.process import host, process_started

    root = Path(root).resolve()
    folder = unrecorded.waiting(root).get(run_id)
    if folder is None:
        raise UsageError(f"no execution of run {run_id} waits to be recorded in {root / RUNS}")
    state = unrecorded.state(folder)
    params = parse_params(yaml.safe_load(state["settings"]))
    tracker = tracking.tracker_for(root, params)
    tracking.check_reachable(tracker.uri)
    subject = Subject(state["ticker"], tuple(state.get("tickers") or [state["ticker"]]), kinds.of_record(state))
    state["inputs"].setdefault("files", {state["ticker"]: state["inputs"]["data"]})  # kept before universes existed
    ex = Execution(Workspace(root, folder, run_id), subject, params, state["name"], tuple(state["overrides"]),
                   state["inputs"], state["tags"], state["publish"], state["settings"])  # fmt: skip
    ex.ws.claim()  # this process owns it now: no other execution's clean-up removes it meanwhile
    unrecorded.release(folder)
    tracker.reopen(run_id)
    tracker.set_tags(run_id, {tracking.PID: str(os.getpid()), tracking.PID_STARTED: str(process_started(os.getpid())),
                              tracking.HOST: host()})  # fmt: skip
    try:
        if state["failure"] is not None:
            abort(ex, StockflowError(state["failure"]))
            return {"run_id": run_id, "ticker": ex.ticker, "failure": state["failure"]}
        return conclude(ex)
    except BaseException as exc:
        abort(ex, exc)
        raise
