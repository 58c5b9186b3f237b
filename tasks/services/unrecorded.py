"""Executions the tracking server was down for: what they added meanwhile, and what it takes to record them later.

A tracking server that stops answering mid-run stops nothing: what the stages add to
the run waits in the work folder (`note`) and is logged with the rest once it answers
(`log_notes`). A run that ends while it is still down keeps its work folder, marked
with what it takes to record it (`keep`); `stockflow record RUN_ID` finds it there
(`waiting`) and records it without training again (`execution.record_later`).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tasks.services import tracking
from tasks.services.workspace import KEPT, RUNS, Workspace

NOTES = "record-later.json"  # in the work folder: what the stages added while the server did not answer


def answers(uri: str) -> bool:
    """Whether the tracking store at `uri` answers now (a local store always does)."""
    from stockflow.errors import TrackingError

    try:
        tracking.check_reachable(uri)
        return True
    except TrackingError:
        return False


def note(ws: Workspace, tracker: tracking.Tracker, run_id: str, metrics: dict[str, float] | None = None,
         tags: dict[str, str] | None = None) -> None:  # fmt: skip
    """Add to the run now when its store answers (the MLflow UI shows each stage as it ends), else later."""
    if answers(tracker.uri):
        try:
            tracker.log_metrics(run_id, metrics or {})
            tracker.set_tags(run_id, tags or {})
            return
        except Exception:  # noqa: BLE001 - it went away in between (after MLflow's own retries): kept, as below
            pass
    path = ws.work / NOTES
    notes = json.loads(path.read_text()) if path.is_file() else {"metrics": {}, "tags": {}}
    notes["metrics"].update(metrics or {})
    notes["tags"].update(tags or {})
    path.write_text(json.dumps(notes))


def log_notes(ws: Workspace, tracker: tracking.Tracker, run_id: str) -> None:
    """What `note` kept in the work folder, into the run."""
    path = ws.work / NOTES
    if path.is_file():
        notes = json.loads(path.read_text())
        tracker.log_metrics(run_id, notes["metrics"])
        tracker.set_tags(run_id, notes["tags"])


def keep(ws: Workspace, state: dict[str, Any]) -> None:
    """Keep the work folder with what it takes to record its execution later (`state`: the execution, and
    `failure`, None when every stage was done)."""
    (ws.work / KEPT).write_text(json.dumps(state, indent=2))


def kept_message(ws: Workspace, run_id: str) -> str:
    """What a person is told of a run kept to be recorded later."""
    where = ws.work.relative_to(ws.root) if ws.work.is_relative_to(ws.root) else ws.work
    return (f"Nothing was registered; the stage outputs are kept in {where}. Once the server answers again, "
            f"`stockflow record {run_id}` records the run (no training again).")  # fmt: skip


def waiting(root: Path) -> dict[str, Path]:
    """run id -> kept work folder, for every execution waiting to be recorded in this project."""
    found = {}
    for marker in sorted((root / RUNS).glob(f"*/{KEPT}")) if (root / RUNS).is_dir() else []:
        try:
            found[json.loads(marker.read_text())["run_id"]] = marker.parent
        except (OSError, ValueError, KeyError):
            continue
    return found


def state(folder: Path) -> dict[str, Any]:
    """What `keep` wrote in a kept work folder."""
    return json.loads((folder / KEPT).read_text())


def release(folder: Path) -> None:
    """The kept folder is being recorded now: no longer waiting."""
    (folder / KEPT).unlink()


def reasons(root: Path) -> dict[str, str]:
    """run id -> why it is FAILED until `stockflow record` records it (for `Tracker.fail_dead_runs`)."""
    return {run_id: f"not recorded: the tracking server stopped answering before the run ended; its outputs wait in "
                    f"{folder.relative_to(root)}: `stockflow record {run_id}`"
            for run_id, folder in waiting(root).items()}  # fmt: skip
