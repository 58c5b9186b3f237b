"""The `tune` flow: an Optuna study of a ticker's or a universe's settings, each trial a task run, side by side on the
local pool or Dask (`tune.workers`, `tune.runner`), then the best settings trained once as a normal run beside the
default settings' run (tasks/commands/tune.py).
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait

from flows.runners import prepare_worker
from flows.tagging import tag_this_flow_run
from tasks import kinds
from tasks.commands import tune
from tasks.services import tracking
from tasks.services.workspace import Workspace, project_root


@task(name="trial", task_run_name="trial {index}", cache_policy=NO_CACHE)
def trial(
    root: str, study: str, target: tune.Target, index: int, parent_run_id: str, deadline: float | None
) -> dict[str, Any]:
    """One trial of the study: settings asked, the model trained on the training window, the validation figure told."""
    prepare_worker()
    result = tune.run_trial(root, study, target, index, parent_run_id, deadline)
    get_run_logger().info("trial %s: %s %s", result.get("number", "-"), result["state"], result.get("value", ""))
    return result


def _flow_run_name() -> str:
    p = runtime.flow_run.parameters
    return f"tune {p.get('target') or ''}: {p.get('study') or p.get('resume') or 'new study'}"


@flow(name="tune", flow_run_name=_flow_run_name, log_prints=True)
def tune_study(
    target: str | None,
    kind: str = "ticker",
    root: str | None = None,
    overrides: list[str] | None = None,
    study: str | None = None,
    resume: str | None = None,
    trigger: str = "cli",
) -> dict[str, Any]:
    """Run a study's trials (or the rest of a resumed one), then train its best settings and the default ones as
    normal runs; the study's summary."""
    root_path = str(project_root(root))
    ws = Workspace.project(root_path)
    chosen, name, stored = tune.prepare(ws, target, kinds.kind(kind), overrides or [], study, resume)
    # The study's settings, then this call's budget (--trials, --workers, --timeout: a resumed study may get more).
    params = ws.load_params([*chosen.overrides, *(o for o in overrides or [] if o.startswith("tune."))])
    tag_this_flow_run(chosen.subject.kind.tag(chosen.subject.name), "kind:tune", f"trigger:{trigger}")
    parent = tune.open_study_run(
        ws, params, chosen, name, bool(resume), {tracking.PREFECT_RUN: str(runtime.flow_run.id)}
    )
    tracker = tracking.tracker_for(ws.root, params)
    try:
        owed, first = tune.remaining(stored, params.tune.trials), tune.started(stored)
        deadline = time.time() + params.tune.timeout_s if params.tune.timeout_s else None
        if params.tune.workers > 1:
            futures = [trial.submit(root_path, name, chosen, first + i, parent, deadline) for i in range(owed)]
            wait(futures)
            results = [f.result(raise_on_failure=True) for f in futures]
        else:  # one at a time, in this thread: Ctrl-C reaches the trial in flight
            results = [trial(root_path, name, chosen, first + i, parent, deadline) for i in range(owed)]
        finished = tune.study_for(ws, params, chosen, name, create=False)
        best = finished.best_trial  # ValueError when no trial completed
        preset = tune.write_preset(ws, name, tune.best_settings(ws, chosen, best.params))
        tuned, default = _final_runs(root_path, chosen, preset, name)
        text = tune.summary(finished, chosen, preset, tuned, default)
        tracker.log_metrics(parent, {"tune/best_objective": best.value, "tune/trials": len(finished.trials)})
        tracker.set_tags(
            parent,
            {
                "stockflow.preset": preset,
                "stockflow.tuned_run": tuned["run_id"],
                "stockflow.default_run": default["run_id"],
                tracking.NOTE: f"```\n{text}\n```",
            },
        )
        tracker.finish(parent)
    except BaseException as exc:
        from tasks.services.failures import failure_reason

        tracker.finish(parent, failure=failure_reason(exc))
        raise
    get_run_logger().info("%s", text)
    return {
        "study": name,
        "text": text,
        "run_id": parent,
        "trials": results,
        "preset": preset,
        "tuned": tuned,
        "default": default,
    }


def _final_runs(root: str, target: tune.Target, preset: str, study: str) -> tuple[dict, dict]:
    """The best settings trained once as a normal run (through the gate), and the default settings' run beside it."""
    from flows.retraining import RETRAIN

    base, name = list(target.overrides), target.subject.label
    retrain_one = RETRAIN[target.subject.kind.name]
    default = retrain_one(target.subject.name, root, base, f"{name} default (beside study {study})", trigger="tune")
    tuned = retrain_one(target.subject.name, root, [f"preset={preset}"], f"{name} {preset}", trigger="tune")
    return tuned, default
