"""Prefect flows `replay`: the retraining schedule over history, one task per as-of date (tasks/commands/replay.py);
and `replay-universe`, one task per segment, fanned out on the task runner (tasks/commands/universe_replay.py)."""

from __future__ import annotations

from typing import Any

from prefect import flow, runtime, task
from prefect.cache_policies import NO_CACHE

from flows.runners import prepare_worker, stop_workers
from flows.tagging import default_ticker, tag_this_flow_run
from tasks.commands import replay as steps
from tasks.commands import universe_replay as universe_steps
from tasks.services.workspace import Workspace, project_root


@task(name="replay_step", cache_policy=NO_CACHE)
def replay_step(r: steps.Replay, k: int, champion: Any):
    """Train at the k-th as-of date on the bars up to it, apply the gate, record the step as a child run."""
    return steps.step(r, k, champion)


def _replay_run_name() -> str:
    p = runtime.flow_run.parameters
    return f"replay {p.get('ticker') or default_ticker(p.get('root'))} every {p.get('every') or '3M'}"


@flow(name="replay", flow_run_name=_replay_run_name, log_prints=True)
def replay(ticker: str | None = None, root: str | None = None, start: str = "2015-01-01", every: str = "3M",
           end: str | None = None, overrides: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Every `every` from `start`: train on data up to then, gate, let the champion trade until the next step."""
    from tqdm.auto import tqdm

    root_path = project_root(root)
    overrides = list(overrides or [])
    ticker = ticker or Workspace.project(root_path).load_params(overrides).data.tickers[0]
    tag_this_flow_run(ticker, "kind:replay")
    r = steps.begin(root_path, ticker, start, every, end, overrides)
    done, champion = [], None
    try:
        for k in tqdm(range(len(r.dates)), desc=f"replay {ticker}", unit="step"):
            s = replay_step(r, k, champion)
            champion = s.forecaster if s.decision.promote else champion
            done.append(s)
        return steps.conclude(r, done, every, start)
    except BaseException as exc:
        steps.abort(r, exc)
        raise


@task(name="replay_policy", cache_policy=NO_CACHE)
def replay_policy(r: steps.Replay, policy: str, fits: dict, progress: bool) -> dict[str, Any]:
    """Replay one retraining policy day by day over the span; record it as a child run."""
    return steps.run_policy(r, policy, fits, progress)


def _policies_run_name() -> str:
    p = runtime.flow_run.parameters
    policies = " vs ".join(p.get("policies") or ["every:3M", "alarm", "once"])
    return f"replay {p.get('ticker') or default_ticker(p.get('root'))} {policies}"


@flow(name="replay-policies", flow_run_name=_policies_run_name, log_prints=True)
def replay_policies(ticker: str | None = None, root: str | None = None, policies: list[str] | None = None,
                    start: str = "2005-01-01", end: str | None = None, overrides: list[str] | None = None,
                    progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Retraining policies over the same history, side by side: a clock, the monitor's alarm, train once."""
    root_path = project_root(root)
    overrides = list(overrides or [])
    ticker = ticker or Workspace.project(root_path).load_params(overrides).data.tickers[0]
    chosen = list(policies or ["every:3M", "alarm", "once"])
    tag_this_flow_run(ticker, "kind:replay")
    r = steps.begin_policies(root_path, ticker, chosen, start, end, overrides)
    fits: dict = {}  # models by as-of date, shared: two policies retraining on one day train one model
    try:
        results = [replay_policy(r, policy, fits, progress) for policy in chosen]
        return steps.conclude_policies(r, results)
    except BaseException as exc:
        steps.abort(r, exc)
        raise


@task(name="replay_segment", task_run_name="segment {k}", cache_policy=NO_CACHE)
def replay_segment(r: universe_steps.UniverseReplay, k: int) -> dict[str, Any]:
    """Retrain for the k-th segment on the dates before it, score the step after; a child run."""
    prepare_worker()
    return universe_steps.segment(r, k)


def _universe_run_name() -> str:
    p = runtime.flow_run.parameters
    return f"replay universe {p.get('universe')} every {p.get('months', 12)}M"


@flow(name="replay-universe", flow_run_name=_universe_run_name, log_prints=True)
def replay_universe(universe: str, root: str | None = None, start: str = "2010-01-01", months: int = 12,
                    end: str | None = None, overrides: list[str] | None = None,
                    progress: bool = False) -> dict[str, Any]:  # fmt: skip
    """Every `months` from `start`: retrain on the years before, predict the step after; the out-of-sample scores
    stitched and judged beside every baseline. The segments run side by side on the flow's task runner."""
    from prefect.futures import as_completed
    from tqdm.auto import tqdm

    tag_this_flow_run(f"universe:{universe}", "kind:replay")
    r = universe_steps.begin(project_root(root), universe, start, months, end, list(overrides or []))
    try:
        futures = [replay_segment.submit(r, k) for k in range(len(r.segments))]
        with tqdm(total=len(futures), desc=f"replay {universe}", unit="segment", disable=not progress) as bar:
            for future in as_completed(futures):
                future.result()
                bar.update()
        return universe_steps.conclude(r, [f.result() for f in futures])
    except BaseException as exc:
        stop_workers()
        universe_steps.abort(r, exc)
        raise
