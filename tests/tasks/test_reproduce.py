"""What `stockflow reproduce` refuses, before anything is checked out or run: one line each, nothing left behind.

The whole path, with a team's DVC remote and `mlflow server`, is tests/flows/test_team.py.
"""

from __future__ import annotations

import pytest

from flows.cli import app
from stockflow.errors import ReproduceError, UsageError
from tasks.commands.reproduce import WORKTREES, reproduce
from tasks.services import tracking
from tests.cli.test_cli import runner
from tests.helpers import every_run

VERSION, COMMIT = "46ead6fd1f8f8967cfcc78c5de65d0eb", "0123456789abcdef0123456789abcdef01234567"


def recorded_run(root, status="FINISHED", **tags) -> str:
    """A run in the project's store with the given provenance tags (as a training run records them)."""
    tracker = tracking.Tracker(root, "stockflow")
    base = {tracking.TICKER: "sp500", tracking.DATA_VERSION: VERSION, tracking.GIT_COMMIT: COMMIT}
    run_id = tracker.client.create_run(tracker.experiment_id, tags={**base, **tags}).info.run_id
    if status != "RUNNING":
        tracker.client.set_terminated(run_id, status)
    return run_id


@pytest.mark.parametrize(
    ("tags", "status", "error", "message"),
    [
        ({tracking.KIND: tracking.MONITOR}, "FINISHED", UsageError, "not the training run of a ticker or a universe"),
        ({}, "FAILED", UsageError, "ended FAILED: only a finished run"),
        ({tracking.DATA_VERSION: "not recorded: data/ also changed unvalidated (x.csv)"}, "FINISHED",
         ReproduceError, "was not recorded as a DVC version"),
        ({tracking.GIT_COMMIT: "unknown"}, "FINISHED", ReproduceError, "was not made from a git commit"),
        ({}, "FINISHED", ReproduceError, "which this clone does not have: `git fetch`"),
    ],
)  # fmt: skip
def test_a_run_that_cannot_be_made_again_is_refused_saying_why(project_dir, tags, status, error, message):
    run_id = recorded_run(project_dir, status, **tags)
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        reproduce(project_dir, run_id)
    assert not (project_dir / WORKTREES).exists() or not any((project_dir / WORKTREES).iterdir())
    assert [r.info.run_id for r in every_run(project_dir)] == [run_id]  # nothing ran


def test_an_id_that_names_no_run_exits_2_in_one_line(project_dir):
    for given, message in [("abc", "is not an MLflow run id"), ("f" * 32, f"no run {'f' * 32} in the MLflow store")]:
        result = runner.invoke(app, ["reproduce", given, "--root", str(project_dir)])
        assert result.exit_code == 2, result.output
        assert message in result.output and "Traceback" not in result.output
