"""Names and tags for flow runs, the same whoever starts them: a command, a deployment, a trigger, a worker.

Prefect takes a flow run's tags from the `tags()` block around the call that creates it;
a run a deployment or a Dask worker creates has none of the caller's. So every flow tags
its own run as it starts, and the Prefect UI filters every kind of run the same way: the
ticker, `preset:<name>`, `trigger:<what started it>` and `kind:<flow>`. Task runs are not
tagged: Prefect checks each tagged task run against tag concurrency limits, and on its
SQLite server that check races the server's own writes (see `flows/retrain.py`).
"""

from __future__ import annotations

from prefect import runtime

from tasks.services.workspace import Workspace, project_root


def tag_this_flow_run(*tags: str) -> None:
    """Add `tags` to the flow run in progress (those it has are kept), and name the process that runs it
    (`flows/liveness.py`: a flow run whose process is killed is marked CRASHED by the next run)."""
    from prefect.client.orchestration import get_client

    from flows import liveness

    have = list(runtime.flow_run.tags or [])
    wanted = have + [t for t in dict.fromkeys(tags) if t and t not in have]
    with get_client(sync_client=True) as client:
        owner = liveness.claim(client.read_flow_run(runtime.flow_run.id))
        if wanted != have or owner:
            client.update_flow_run(runtime.flow_run.id, tags=wanted, **owner)


def default_ticker(root: str | None) -> str:
    """The ticker a flow runs for when none is given: params.yaml's first; '' when the settings cannot be read."""
    try:
        return Workspace.project(project_root(root)).load_params().data.tickers[0]
    except Exception:  # noqa: BLE001 - a name is a convenience; the flow reports the real error itself
        return ""
