"""Two `stockflow run` of one ticker at the same moment: each records exactly what it computed."""

from __future__ import annotations

import subprocess
import time

import pytest

from tasks.services import tracking
from tests.helpers import BIN, all_runs, env_with_venv, every_run, tool_state_outside

pytestmark = pytest.mark.slow
FIRST = ["train.seed=7", "train.epochs=3", "train.patience=0"]
SECOND = ["train.seed=8", "train.epochs=2", "train.patience=0", "preprocess.lookback=15"]
FIGURES = ("Headline/mae_pct", "Headline/dm_p", "Headline/sharpe", "Headline/return_pct", "Headline/max_dd_pct",
           "preprocess/test_samples",
           "evaluate/test_days", "train/epochs_run")  # fmt: skip


def stockflow(root, settings: list[str], name: str, **env: str) -> subprocess.Popen:
    args = [str(BIN / "stockflow"), "run", "--root", str(root), "--name", name]
    for s in settings:
        args += ["--set", s]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env_with_venv(**env))


def test_two_runs_of_one_ticker_at_once_each_record_their_own_figures(project_dir, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    outside = tool_state_outside()
    first = stockflow(project_dir, FIRST, "first")
    time.sleep(3)
    second = stockflow(project_dir, SECOND, "second")
    for proc in (first, second):
        out, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    runs = {r.info.run_name: r for r in all_runs(project_dir)}
    assert set(runs) == {"first", "second"}
    assert runs["first"].info.status == runs["second"].info.status == "FINISHED"
    assert runs["first"].data.tags[tracking.WORKSPACE] != runs["second"].data.tags[tracking.WORKSPACE]
    assert runs["second"].data.params["preprocess.lookback"] == "15"

    # Each equals the same settings run alone, in a process of its own like the two (training is deterministic
    # per process; a test worker's process has trained other models before): nothing of the other leaked in.
    for name, settings in (("first", FIRST), ("second", SECOND)):
        # On a running Prefect API (the test's), as a team's: what is compared is MLflow's record, and the two
        # runs at once above have already booted their private servers side by side.
        proc = stockflow(project_dir, settings, f"{name} alone", PREFECT_API_URL=PREFECT_API_URL.value())
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
        solo = {r.info.run_name: r for r in all_runs(project_dir)}[f"{name} alone"]
        for key in FIGURES:
            assert runs[name].data.metrics[key] == solo.data.metrics[key], (name, key)
        assert solo.data.tags[tracking.MODEL_VERSION] == runs[name].data.tags[tracking.MODEL_VERSION]  # same model

    # Nothing else in any experiment: a process that exits without its libraries' exit hooks once all is recorded
    # must not leave a stray run behind (MLflow's "flush" helpers start one when none is active), and none RUNNING.
    everything = every_run(project_dir)
    assert sorted(r.info.run_name for r in everything) == ["first", "first alone", "second", "second alone"]
    assert {r.info.status for r in everything} == {"FINISHED"}
    # The runs' private Prefect servers, DVC, Keras and matplotlib kept their state in the tests' folders
    # (tests/conftest.py), not in the home of whoever runs the tests.
    changed = {path for path, stamp in tool_state_outside().items() if outside.get(path) != stamp}
    assert not changed, f"the tests wrote outside their temporary folders: {sorted(changed)[:10]}"
