"""`dvc repro` runs the same stages: one repro, one complete MLflow run, never joined across processes."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from tasks.commands.ingest import ingest
from tasks.services import tracking
from tasks.services.workspace import Workspace
from tests.helpers import all_runs, client, dvc, every_run, ran

pytestmark = pytest.mark.slow
ALL = ["validate@sp500", "preprocess@sp500", "train@sp500", "evaluate@sp500", "backtest@sp500", "promote@sp500"]


def set_params(root, **changes) -> None:
    """Edit params.yaml as a person would: `train__epochs=2` sets train.epochs."""
    params = yaml.safe_load((root / "params.yaml").read_text())
    for key, value in changes.items():
        section, leaf = key.split("__")
        params[section][leaf] = value
    (root / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))


def test_each_repro_records_one_complete_run_with_the_params_it_ran_and_a_copy_is_not_registered(project_dir):
    assert ran(dvc(project_dir, "repro", "preprocess")) == ["validate@sp500", "preprocess@sp500"]
    assert all_runs(project_dir) == []  # nothing was trained: nothing to record yet
    set_params(project_dir, train__epochs=2, train__patience=0)
    first = dvc(project_dir, "repro")
    assert ran(first) == ALL[2:], first.stderr
    (run,) = all_runs(project_dir)
    assert run.info.status == "FINISHED" and run.data.tags[tracking.TRIGGER] == "dvc"
    # The params it says are the ones it trained with, though a repro before it stopped at preprocess.
    assert run.data.params["train.epochs"] == "2" and run.data.metrics["train/epochs_run"] == 2
    assert run.data.tags[tracking.STAGES_REUSED] == "validate, preprocess"
    assert run.data.tags[tracking.MODEL_VERSION] == "1"

    assert ran(dvc(project_dir, "repro")) == [] and len(all_runs(project_dir)) == 1  # nothing to do, nothing recorded
    git = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=project_dir,
                         capture_output=True, text=True)  # fmt: skip
    assert git.stdout.split() == ["M", "params.yaml"]  # the edit above; data.dvc and the rest untouched

    set_params(project_dir, backtest__stop_loss=0.02)
    third = dvc(project_dir, "repro")
    assert ran(third) == ["backtest@sp500", "promote@sp500"], third.stderr
    second = all_runs(project_dir)[-1]
    assert second.info.status == "FINISHED" and second.info.run_id != run.info.run_id
    assert second.data.params["backtest.stop_loss"] == "0.02" and second.data.params["train.epochs"] == "2"
    # Complete on its own: the reused stages' figures are in it, and it says they were reused.
    assert "evaluate/model.mae" in second.data.metrics and "train/best_val_loss" in second.data.metrics
    assert second.data.tags[tracking.STAGES_REUSED] == "validate, preprocess, train, evaluate"
    # The model is the same one: no second version, the run links to v1.
    assert second.data.tags[tracking.MODEL_VERSION] == "1"
    assert len(client(project_dir).search_model_versions("name = 'stockflow-sp500'")) == 1
    # The stage processes left nothing else in any experiment (Default included), and nothing RUNNING.
    assert [(r.info.run_id, r.info.status) for r in every_run(project_dir)] == [
        (run.info.run_id, "FINISHED"),
        (second.info.run_id, "FINISHED"),
    ]

    # A new ticker on the watchlist re-runs its own stages and nobody else's.
    ws = Workspace.project(project_dir)
    beta = project_dir.parent / "beta.csv"
    beta.write_text((project_dir / "data" / "sp500.csv").read_text())
    ingest(ws, ws.load_params(), f"csv:{beta}", "beta")
    set_params(project_dir, data__tickers=["sp500", "beta"])
    status = dvc(project_dir, "status")  # what a repro would run, without running it
    pending = [line.rstrip(":") for line in status.stdout.splitlines() if line and not line[0].isspace()]
    assert sorted(pending) == sorted(name.replace("@sp500", "@beta") for name in ALL), status.stdout


def test_repro_stops_at_validate_and_keeps_the_recorded_data_version(project_dir):
    dvc_file = project_dir / "data.dvc"
    before = dvc_file.read_text()
    path = project_dir / "data" / "sp500.csv"
    lines = path.read_text().splitlines()
    lines[50], lines[51] = lines[51], lines[50]  # unsorted dates
    path.write_text("\n".join(lines) + "\n")

    out = dvc(project_dir, "repro")
    assert out.returncode != 0
    assert "dates out of order" in out.stderr and "Traceback" not in out.stderr
    assert ran(out) == ["validate@sp500"]
    assert dvc_file.read_text() == before
    assert not (project_dir / "outputs" / "sp500" / "train").exists()
    (run,) = all_runs(project_dir)
    assert run.info.status == "FAILED" and "validate" in run.data.tags[tracking.FAILURE]
    assert "validate/errors" in run.data.metrics


def test_dvc_repro_from_a_shell_without_the_venv_active_runs_the_stage_or_says_in_one_line_what_to_do(
    project_dir, tmp_path
):
    """`.venv/bin/dvc repro` where `python` on PATH is one without the project's libraries (the system's)."""
    import os
    import sys
    from pathlib import Path

    bare = tmp_path / "bare-bin"
    bare.mkdir()
    (bare / "python").symlink_to(Path(sys._base_executable).resolve())  # the interpreter the venv was made from
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = f"{bare}{os.pathsep}/usr/bin{os.pathsep}/bin"
    dvc_bin = str(Path(sys.executable).parent / "dvc")
    out = subprocess.run([dvc_bin, "repro", "validate@sp500"], cwd=project_dir, capture_output=True, text=True,
                         env=env)  # fmt: skip
    if "Running stage" in out.stdout and out.returncode == 0:
        pytest.skip("the base interpreter has the project's libraries: nothing to find")
    assert out.returncode != 0 and "Traceback" not in out.stderr, out.stderr
    assert "`source .venv/bin/activate` first, or run `make repro`" in out.stderr
    # With the project's .venv beside it, the stage runs under the project's interpreter.
    (project_dir / ".venv").symlink_to(Path(sys.executable).parents[1])
    out = subprocess.run([dvc_bin, "repro", "validate@sp500"], cwd=project_dir, capture_output=True, text=True,
                         env=env)  # fmt: skip
    assert out.returncode == 0 and ran(out) == ["validate@sp500"], out.stderr
