"""The registry step every kind's last stage ends with, the same for a ticker and a universe.

Under a lock per registered name (beside the project's store; a queued DVC experiment
shares its project's): a model identical to a registered version (the same data, model
settings and code: its model key) is not registered again and its gate decision stands;
otherwise the kind's gate judges the challenger against the champion, the new version is
registered with the verdict, the champion's run is told who challenged it, and the aliases
move last, none of it cut in two by a signal.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tasks.services import tracking
from tasks.services.process import deferred_signals
from tasks.services.tracking import Tracker


def registry_lock(root: Path, key: str):
    """A lock per registered name, beside the project's store (a queued DVC experiment shares its project's)."""
    from filelock import FileLock

    folder = Path(os.environ.get("DVC_ROOT") or root) / ".stockflow" / "locks"
    folder.mkdir(parents=True, exist_ok=True)
    return FileLock(str(folder / f"registry-{key}.lock"))


def gated(root: Path, tracker: Tracker, run_id: str, key: str, tags: dict[str, str],
          judge: Callable[[Any], dict[str, Any]]) -> dict[str, Any]:  # fmt: skip
    """Register the run's model under `key` behind the gate; the stage's report (`promote`, `reason`, `version`,
    `registered`, `champion_version` and the gate's figures). `judge(champion)`: the kind's gate against the
    champion's version (None when there is none), its report beginning with `promote` and `reason`."""
    with registry_lock(root, key):
        existing, champion = tracker.version_with_key(key, tags[tracking.MODEL_KEY]), tracker.champion(key)
        champion_version = None if champion is None else int(champion.version)
        if existing is not None:
            stood = existing.tags.get(tracking.GATE, "unknown")
            return {"promote": stood == "promoted", "version": int(existing.version), "registered": False,
                    "champion_version": champion_version,
                    "reason": f"identical to v{existing.version} (same data, model settings and code): not registered "
                              f"again; its gate decision stands ({stood})"}  # fmt: skip
        report = judge(champion)
        report["champion_version"] = champion_version
        with deferred_signals():  # registered and aliases moved, or neither: never cut in two by a signal
            verdict = "promoted" if report["promote"] else "rejected"
            version = tracker.register(run_id, key, {**tags, tracking.GATE: verdict})
            report.update(version=int(version.version), registered=True)
            _tell_champion(tracker, key, report)
            tracker.move_alias(key, tracking.CHALLENGER, version.version)
            if report["promote"]:
                tracker.move_alias(key, tracking.CHAMPION, version.version)
    return report


def _tell_champion(tracker: Tracker, key: str, report: dict) -> None:
    """Note the challenge on the champion's run too, so its history shows who tried to replace it."""
    if report["champion_version"] is None:
        return
    champion_run = tracker.version_run_id(key, report["champion_version"])
    if champion_run:
        verdict = f"{'promoted' if report['promote'] else 'rejected'} v{report['version']}: {report['reason']}"
        tracker.set_tags(champion_run, {f"stockflow.challenged_by.v{report['version']}": verdict})


def trained_at(start_ms: int) -> str:
    """A run's start (ms since the epoch) as an ISO UTC time: when its model was trained."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(start_ms / 1000))
