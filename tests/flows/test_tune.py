"""`stockflow tune` as its users run it: a study whose trials are nested MLflow runs and task runs of its flow run,
its best settings a preset that `stockflow run` takes, the tuned run beside the default one; a study killed with
kill -9 and resumed on two workers, nothing left RUNNING."""

from __future__ import annotations

import contextlib
import subprocess
import time

import optuna
import pytest
import sqlalchemy.exc
import yaml
from optuna.trial import TrialState

from tasks.commands import tune
from tasks.services import tracking
from tests.helpers import BIN, all_runs, client, env_with_venv, prefect_runs

pytestmark = pytest.mark.slow

SPACE = {
    "preprocess.lookback": {"type": "int", "low": 10, "high": 20, "step": 5},
    "train.units": {"type": "int", "low": 4, "high": 16, "log": True},
    "train.learning_rate": {"type": "float", "low": 0.001, "high": 0.03, "log": True},
}


def with_space(root, space=SPACE) -> None:
    """The project's params.yaml with a small search space, as a user would write it."""
    path = root / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["tune"]["space"] = space
    path.write_text(yaml.safe_dump(raw, sort_keys=False))


def task_runs(flow_run_id) -> list:
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

    async def read():
        async with get_client() as c:
            return await c.read_task_runs(flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[flow_run_id])))

    return asyncio.run(read())


def study(root, name: str) -> optuna.Study:
    return optuna.load_study(study_name=name, storage=f"sqlite:///{root / 'mlruns' / 'optuna.db'}")


def test_a_study_records_its_trials_writes_its_best_settings_and_trains_them_beside_the_default(
    project_dir, prefect_harness
):
    from flows.tune import tune_study
    from tasks.services.workspace import Workspace

    with_space(project_dir)
    sets = ["tune.trials=7", "train.epochs=4", "train.patience=0"]
    result = tune_study("sp500", root=str(project_dir), overrides=sets, study="first")

    trials = study(project_dir, "first").trials
    assert len(trials) == 7 and {t.state for t in trials} <= {TrialState.COMPLETE, TrialState.PRUNED}
    assert TrialState.PRUNED in {t.state for t in trials}  # 4 epochs, 5 startup trials: the median cuts some
    # The settings to beat come first: the project's own (lookback 10, units 8 in the tiny project).
    assert trials[0].params == {"preprocess.lookback": 10, "train.units": 8, "train.learning_rate": 0.001}

    # The record: the study's run, one nested run per trial with its settings, curves, state and objective.
    runs = {r.info.run_id: r for r in all_runs(project_dir)}
    parent = runs[result["run_id"]]
    assert parent.info.status == "FINISHED" and parent.data.tags[tracking.KIND] == tune.KIND
    nested = sorted((r for r in runs.values() if r.data.tags.get(tracking.PARENT) == parent.info.run_id),
                    key=lambda r: int(r.data.tags[tune.TRIAL]))  # fmt: skip
    assert [int(r.data.tags[tune.TRIAL]) for r in nested] == list(range(7))
    c = client(project_dir)
    for run, t in zip(nested, trials, strict=True):
        assert run.info.status == "FINISHED" and run.data.tags[tune.STATE] == t.state.name.lower()
        assert {k: run.data.params[k] for k in SPACE} == {k: str(v) for k, v in t.params.items()}
        curve = sorted(c.get_metric_history(run.info.run_id, "Loss/validation"), key=lambda m: m.step)
        if t.state == TrialState.COMPLETE:
            assert run.data.metrics["tune/objective"] == pytest.approx(t.value)
            assert len(curve) == 4 and curve[-1].value == pytest.approx(t.value, rel=1e-4)  # the model it returned
        else:
            assert "tune/objective" not in run.data.metrics and 3 <= len(curve) <= 4

    # The best settings as a preset that `stockflow run` takes, trained once beside the default settings.
    best = study(project_dir, "first").best_trial
    assert result["preset"] == "tuned-first"
    tuned_params = Workspace.project(project_dir).load_params(["preset=tuned-first"])
    assert tuned_params.preprocess.lookback == best.params["preprocess.lookback"]
    assert tuned_params.train.units == best.params["train.units"]
    tuned, default = runs[result["tuned"]["run_id"]], runs[result["default"]["run_id"]]
    assert tuned.data.params["preset"] == "tuned-first" and tuned.data.params["train.epochs"] == "4"
    assert tuned.data.params["train.units"] == str(best.params["train.units"])
    assert parent.data.tags["stockflow.tuned_run"] == tuned.info.run_id
    # Chosen on validation, so no worse there than the settings it had to beat; the test window says what it says.
    assert result["tuned"]["evaluate"]["val_loss"] == pytest.approx(best.value, rel=1e-5)  # the same settings, seed
    assert result["tuned"]["evaluate"]["val_loss"] <= result["default"]["evaluate"]["val_loss"] * (1 + 1e-6)
    assert tracking.KIND not in tuned.data.tags and tracking.KIND not in default.data.tags  # training runs
    recent = tracking.tracker_for(project_dir, Workspace.project(project_dir).load_params()).recent_runs("sp500", 2)
    assert [r.info.run_id for r in recent] == [tuned.info.run_id, default.info.run_id]  # the trials stay out of it
    assert "selection bias" in result["text"] and "persistence 1" in result["text"]
    assert {r.info.status for r in runs.values()} == {"FINISHED"} and len(runs) == 1 + 7 + 2

    # The Prefect flow run shows its trials.
    (flow_run,) = prefect_runs("tune")
    assert flow_run.state_name == "Completed" and {"sp500", "kind:tune"} <= set(flow_run.tags)
    names = {t.name for t in task_runs(flow_run.id)}
    assert {f"trial {i}" for i in range(7)} <= names


def test_a_study_killed_mid_trial_resumes_on_two_workers_and_leaves_nothing_running(
    project_dir, prefect_harness, tmp_path
):
    from prefect.settings import PREFECT_API_URL

    with_space(project_dir)
    env = env_with_venv(PREFECT_API_URL=PREFECT_API_URL.value())
    sets = ["--set", "tune.trials=5", "--set", "train.epochs=12", "--set", "train.patience=0"]
    log = (tmp_path / "tune.log").open("w")
    proc = subprocess.Popen([str(BIN / "stockflow"), "tune", "--ticker", "sp500", "--study", "k", *sets, "--root",
                             str(project_dir)], stdout=log, stderr=subprocess.STDOUT, env=env)  # fmt: skip
    deadline = time.monotonic() + 300
    while True:  # one trial done and the next one under way, its MLflow run opened: then kill -9
        assert proc.poll() is None, (tmp_path / "tune.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no trial finished"
        states = []
        if (project_dir / "mlruns" / "optuna.db").exists():
            # The study not made yet, or its database being made by the command at this very moment.
            with contextlib.suppress(KeyError, sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):
                states = [t.state for t in study(project_dir, "k").trials]
        if states.count(TrialState.COMPLETE) >= 1 and TrialState.RUNNING in states:
            # On a loaded machine the trial can be RUNNING in Optuna a moment before its nested run exists.
            running = str(states.index(TrialState.RUNNING))
            with contextlib.suppress(Exception):  # the store written by the command at this very moment
                if any(r.data.tags.get(tune.TRIAL) == running for r in all_runs(project_dir)):
                    break
        time.sleep(0.5)
    proc.kill()
    proc.wait(timeout=10)
    assert TrialState.RUNNING in [t.state for t in study(project_dir, "k").trials]

    again = subprocess.run([str(BIN / "stockflow"), "tune", "--resume", "k", "--workers", "2", "--root",
                            str(project_dir)], capture_output=True, text=True, env=env, timeout=600)  # fmt: skip
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "study k: 5 trials" in again.stdout and "tuned-k" in again.stdout

    trials = study(project_dir, "k").trials
    states = [t.state for t in trials]
    assert len(trials) == 5 and states.count(TrialState.FAIL) == 1  # only the trial in flight was lost
    runs = all_runs(project_dir)
    assert "RUNNING" not in {r.info.status for r in runs}
    killed = next(r for r in runs if r.data.tags.get(tune.TRIAL) == str(states.index(TrialState.FAIL)))
    assert killed.info.status == "FAILED" and "killed" in killed.data.tags[tracking.FAILURE]
    parents = [r for r in runs if r.data.tags.get(tracking.KIND) == tune.KIND and tune.TRIAL not in r.data.tags]
    assert sorted(r.info.status for r in parents) == ["FAILED", "FINISHED"]
    resumed = next(r for r in parents if r.info.status == "FINISHED")
    after = [r for r in runs if r.data.tags.get(tracking.PARENT) == resumed.info.run_id]
    assert len(after) == 5 - 2 and len({r.data.tags[tracking.PID] for r in after}) == 2  # side by side, two workers


def test_a_universe_study_chooses_on_validation_rank_ic_and_reports_the_test_windows(project_dir, prefect_harness):
    from flows.tune import tune_study
    from tests.flows.test_universe_flow import SMALL, universe_of

    tickers = universe_of(project_dir, days=900)
    path = project_dir / "params.yaml"
    raw = yaml.safe_load(path.read_text())
    raw["tune"]["universe_space"] = {"universe.train.learning_rate": {"type": "float", "low": 0.001, "high": 0.01,
                                                                      "log": True}}  # fmt: skip
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    sets = [f"universes.p=[{','.join(tickers)}]", *SMALL, "tune.trials=3"]
    result = tune_study("p", kind="universe", root=str(project_dir), overrides=sets, study="u")

    trials = study(project_dir, "u").trials
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3 and study(
        project_dir, "u"
    ).direction.name == "MAXIMIZE"
    assert trials[0].params == {"universe.train.learning_rate": 0.003}  # the settings to beat: SMALL's
    best = study(project_dir, "u").best_trial
    tuned, default = result["tuned"], result["default"]
    rank_ic = lambda r, w: r["universe_evaluate"][w]["model"]["rank_ic"]["mean"]  # noqa: E731
    # The tuned run's validation Rank IC is the best trial's (same settings, same seed), at least the default's.
    assert rank_ic(tuned, "validation") == pytest.approx(best.value, abs=1e-6)
    assert rank_ic(tuned, "validation") >= rank_ic(default, "validation") - 1e-9
    assert (
        f"tuned: validation {rank_ic(tuned, 'validation'):.4f} -> test {rank_ic(tuned, 'test'):.4f}" in result["text"]
    )
    runs = all_runs(project_dir)
    assert {r.info.status for r in runs} == {"FINISHED"} and len(runs) == 1 + 3 + 2
    assert {r.data.tags.get(tracking.UNIVERSE) for r in runs} == {"p"}
