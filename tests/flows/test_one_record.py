"""The commands a person runs after a training run, each in a process of its own as from a shell: each leaves
exactly the MLflow runs it should, in any experiment of the store, and none RUNNING once it has exited.

(`stockflow run`, `dvc repro`, `dvc exp run` and a watchlist are held to the same in their own tests.)
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tasks.services import tracking
from tests.conftest import append_rest
from tests.helpers import BIN, env_with_venv, every_run

pytestmark = pytest.mark.slow


def stockflow(root, *args: str) -> subprocess.CompletedProcess:
    out = subprocess.run([str(BIN / "stockflow"), *args, "--root", str(root)], capture_output=True, text=True,
                         env=env_with_venv(), timeout=300)  # fmt: skip
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-3000:]
    return out


def test_predict_monitor_and_replay_leave_only_their_own_runs(champion, small_prices):
    root = champion.root
    (trained,) = every_run(root)
    append_rest(champion, small_prices)

    stockflow(root, "predict", "--allow-stale")
    assert [r.info.run_id for r in every_run(root)] == [trained.info.run_id]  # a forecast records nothing

    stockflow(root, "monitor")
    stockflow(root, "replay", "--start", "2018-09-01", "--every", "6M", "--set", "promote.max_mae_ratio=100")

    runs = every_run(root)
    assert {r.info.status for r in runs} == {"FINISHED"}
    others = [r for r in runs if r.info.run_id != trained.info.run_id]
    (check,) = [r for r in others if r.data.tags.get(tracking.KIND) == tracking.MONITOR]
    (parent,) = [r for r in others if r.data.tags.get(tracking.TRIGGER) == "replay"]
    steps = [r for r in others if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]
    assert steps and all(tracking.AS_OF in r.data.tags for r in steps)
    assert len(others) == 2 + len(steps), [(r.info.run_name, r.data.tags) for r in others]  # nothing else, anywhere
    # Every run named by the command that made it, none by MLflow's generator (`bustling-seal-758`): a name drawn
    # there comes from a seeded random state, the same in every process.
    assert not [r.info.run_name for r in runs if re.fullmatch(r"[a-z]+-[a-z]+-\d+", r.info.run_name)]
