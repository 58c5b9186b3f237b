"""Prefect tells the truth after kill -9: a flow run whose process is gone is marked CRASHED.

A process killed with -9 cannot report its flow run's end, and Prefect's own zombie
detection needs heartbeats and a server's automations, which a run's private server has
not. So every flow run names the process that runs it (`infrastructure_pid`, as Prefect's
process worker does: `host:pid`), and whenever stockflow reaches a Prefect API it marks
CRASHED the runs of this host still RUNNING whose process has ended, or was replaced by a
later process under the same number. MLflow's record does the same for the runs it holds
(`tasks/services/tracking.py`), so after the next run the Prefect UI agrees with MLflow.
"""

from __future__ import annotations

import contextlib
import os
import socket
from typing import Any

KILLED = "process {pid} on {host} ended without finishing the flow run (killed)"


def this_process() -> str:
    """`host:pid`, as a flow run's `infrastructure_pid` names the process that runs it."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(flow_run: Any) -> dict[str, Any]:
    """The update that names this process as `flow_run`'s, unless something (a worker) already named one."""
    return {} if getattr(flow_run, "infrastructure_pid", None) else {"infrastructure_pid": this_process()}


def _gone(infrastructure_pid: str, started: Any) -> bool:
    """Whether the process a flow run names has ended (or its number now belongs to a later process)."""
    import psutil

    pid = infrastructure_pid.rsplit(":", 1)[1]
    if not pid.isdigit():
        return False
    try:
        created = psutil.Process(int(pid)).create_time()
    except psutil.NoSuchProcess:
        return True
    except psutil.AccessDenied:
        return False
    return started is not None and created > started.timestamp() + 1  # a later process under the same number


def crash_orphans() -> list[str]:
    """Mark CRASHED the RUNNING flow runs of this host whose process is gone; their names. Never raises: a
    record that cannot be mended now is mended by the next run."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterState, FlowRunFilterStateType
    from prefect.client.schemas.objects import StateType
    from prefect.states import Crashed

    here, crashed = socket.gethostname(), []
    with contextlib.suppress(Exception), get_client(sync_client=True) as client:
        running = client.read_flow_runs(
            flow_run_filter=FlowRunFilter(state=FlowRunFilterState(type=FlowRunFilterStateType(any_=[StateType.RUNNING]))),
            limit=200,
        )  # fmt: skip
        for run in running:
            owner = run.infrastructure_pid or ""
            if owner.rsplit(":", 1)[0] != here or not _gone(owner, run.start_time):
                continue
            host, pid = owner.rsplit(":", 1)
            client.set_flow_run_state(run.id, Crashed(message=KILLED.format(pid=pid, host=host)), force=True)
            crashed.append(run.name)
    return crashed
