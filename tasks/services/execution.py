"""One execution of the pipeline for one ticker, whichever orchestrator starts it.

    begin -> compute each stage -> conclude (record, gate, publish)     or, on any error or signal, abort

`begin` gives the execution its own workspace and its own MLflow run (RUNNING,
with every param and the code, data and settings that made it); the stages
only write files there; `conclude` builds the run's record from those files,
applies the gate, publishes the outputs for DVC when they describe params.yaml
as it is, and ends the run FINISHED. `abort` records what exists and ends it
FAILED. The Prefect flows call these in order; `dvc repro` calls the same from
its stage processes (`tasks/services/dvc_stage.py`).
"""

from __future__ import annotations

import functools
import importlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockflow.config import Params
from stockflow.errors import (
    DataValidationError,
    Interrupted,
    StockflowError,
    TrackingError,
    UsageError,
    check_ticker,
)
from stockflow.headline import for_mlflow
from stockflow.summary import run_summary
from tasks.services import catalog, dvc_repo, provenance, record, tracking
from tasks.services.process import stop_cause
from tasks.services.workspace import RUNS, Workspace, md5


@dataclass(frozen=True)
class Execution:
    """One execution in flight: its workspace, ticker, settings (loaded once) and MLflow run."""

    ws: Workspace
    ticker: str
    params: Params
    run_id: str
    name: str
    overrides: tuple[str, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)  # params file, data and code as they were at the start
    tags: dict[str, str] = field(default_factory=dict)
    publish: bool = True  # flows publish their outputs for DVC; under DVC, DVC records them itself
    settings: str = ""  # params.yaml as the run read it, its overrides applied (`settings_file`)


@functools.lru_cache(maxsize=8)
def _tracker(uri: str, root: str, experiment: str) -> tracking.Tracker:
    return tracking.Tracker(Path(root), experiment)


def tracker_for(root: Path, params: Params) -> tracking.Tracker:
    """One Tracker per store and experiment in a process (it holds a database connection pool)."""
    return _tracker(tracking.store_uri(root), str(root), params.mlflow.experiment)


def monitor_tracker_for(root: Path, params: Params) -> tracking.Tracker:
    """The monitor checks' experiment (`<experiment>-monitor`): apart from training runs, in the same store."""
    return _tracker(tracking.store_uri(root), str(root), f"{params.mlflow.experiment}-{tracking.MONITOR}")


def begin(
    root: Path | str,
    ticker: str,
    overrides: list[str] | tuple[str, ...] = (),
    trigger: str = "cli",
    name: str | None = None,
    parent_run_id: str | None = None,
    links: dict[str, str] | None = None,
    ws: Workspace | None = None,
) -> Execution:
    """Load the settings once, give the execution its workspace and snapshot of the data, open its run."""
    root = Path(root).resolve()
    check_ticker(ticker)
    params_md5 = md5(root / "params.yaml") if (root / "params.yaml").is_file() else ""
    params = Workspace.project(root).load_params(overrides)
    private = ws is None
    ws = ws or Workspace.private(root, ticker)
    try:
        _claim(ws)
        data_md5 = ws.snapshot_data(ticker)
        tracker = tracker_for(root, params)
        tracker.fail_dead_runs(_unrecorded_reasons(root))
        remove_abandoned_workspaces(root)
        code_tags, diff = provenance.code_version(root)
        settings = provenance.describe(ticker, params, root)
        tags = {
            **code_tags,
            **dvc_repo.experiment(),
            **(links or {}),
            tracking.TICKER: ticker,
            tracking.PRESET: params.preset,
            tracking.SETTINGS: settings,
            tracking.TRIGGER: trigger,
            tracking.DATA_VERSION: dvc_repo.data_version(root),
            tracking.DATA_FILE_MD5: data_md5,
            tracking.MODEL_KEY: provenance.model_key(data_md5, params),
            tracking.WORKSPACE: str(ws.work.relative_to(root)) if ws.work.is_relative_to(root) else str(ws.work),
        }
        run_name = name or _dvc_name(tags, settings)
        run_id = tracker.open_run(run_name, params.flat(), tags, parent=parent_run_id)
        tracker.log_dataset(run_id, ws.data_file(ticker), ticker, data_md5, tags[tracking.DATA_VERSION])
        settings_text = settings_file(root, overrides)
        tracker.log_text(run_id, settings_text, SETTINGS_FILE)
        if diff:
            tracker.log_text(run_id, diff, "code.diff")
    except BaseException:
        if private:
            ws.remove()
        raise
    inputs = {"params": params_md5, "data": data_md5, "code": provenance.code_fingerprint()}
    return Execution(ws, ticker, params, run_id, run_name, tuple(overrides), inputs, tags, private, settings_text)


SETTINGS_FILE = "params.yaml"  # the run's artifact: params.yaml as the run read it, its overrides applied


def settings_file(root: Path, overrides: list[str] | tuple[str, ...]) -> str:
    """params.yaml with `overrides` applied, as text: put in a project, it gives the run's settings with no `--set`.

    MLflow's params are flat strings (a list reads back as its repr); this file is what `stockflow reproduce` uses.
    """
    import yaml

    from stockflow.config import apply_overrides
    from tasks.services.workspace import read_params_file

    return yaml.safe_dump(apply_overrides(read_params_file(root / "params.yaml"), overrides), sort_keys=False)


def _dvc_name(tags: dict[str, str], settings: str) -> str:
    exp = tags.get(tracking.DVC_EXP)
    return f"{exp}: {settings}" if exp else settings


def compute(ex: Execution, stage: str, progress: bool = False) -> dict:
    """Run one stage into the execution's workspace; its summary. Its duration goes to the run (`time/<stage>_s`).

    A tracking server that stops answering meanwhile stops nothing: what the stages add to the run then
    waits in the workspace (`_note`) and is logged with the rest at the end.
    """
    started = time.perf_counter()
    summary = run_stage(ex.ws, ex.params, ex.ticker, stage, progress)
    if stage == "validate":
        _record_data_version(ex)
    seconds = time.perf_counter() - started
    _note(ex, metrics={f"time/{stage}_s": seconds})
    times = ex.ws.work / _TIMES
    times.write_text(json.dumps({**(json.loads(times.read_text()) if times.is_file() else {}), stage: seconds}))
    return summary


_TIMES = "times.json"  # in the work folder: each stage's seconds, for the run's summary (never a stage output)


def stage_times(ex: Execution) -> dict[str, float]:
    """The seconds each stage of the execution took so far (what the summary's training line reads)."""
    times = ex.ws.work / _TIMES
    return json.loads(times.read_text()) if ex.ws.is_private and times.is_file() else {}


_NOTES = "record-later.json"  # in the work folder: what the stages added while the server did not answer


def _note(ex: Execution, metrics: dict[str, float] | None = None, tags: dict[str, str] | None = None) -> None:
    """Add to the run now when its store answers (the MLflow UI shows each stage as it ends), else at the end."""
    tracker = tracker_for(ex.ws.root, ex.params)
    if _answers(tracker.uri):
        try:
            tracker.log_metrics(ex.run_id, metrics or {})
            tracker.set_tags(ex.run_id, tags or {})
            return
        except Exception:  # noqa: BLE001 - it went away in between (after MLflow's own retries): kept, as below
            pass
    path = ex.ws.work / _NOTES
    notes = json.loads(path.read_text()) if path.is_file() else {"metrics": {}, "tags": {}}
    notes["metrics"].update(metrics or {})
    notes["tags"].update(tags or {})
    path.write_text(json.dumps(notes))


def _log_notes(ex: Execution, tracker: tracking.Tracker) -> None:
    path = ex.ws.work / _NOTES
    if path.is_file():
        notes = json.loads(path.read_text())
        tracker.log_metrics(ex.run_id, notes["metrics"])
        tracker.set_tags(ex.run_id, notes["tags"])


TRAINING_STAGES = ("train", "evaluate")  # evaluate retrains for its seed spread and walk-forward refits


def run_stage(ws: Workspace, params: Params, ticker: str, stage: str, progress: bool = False) -> dict:
    """A stage's compute; while it trains, SIGINT and SIGTERM take effect between batches (see `deferred_signals`)."""
    from stockflow.model import calling_every_batch
    from tasks.services.process import check_signals, deferred_signals

    module = importlib.import_module(f"tasks.stages.{stage}")
    kwargs = {"progress": progress} if stage == "train" else {}
    if stage not in TRAINING_STAGES:
        return module.compute(ws, params, ticker, **kwargs)
    with deferred_signals(), calling_every_batch(check_signals):
        return module.compute(ws, params, ticker, **kwargs)


def _record_data_version(ex: Execution) -> None:
    """Validated data becomes the recorded DVC version, unless the project's file changed meanwhile."""
    root = ex.ws.root
    if not ex.ws.is_private or md5(ex.ws.project_data_file(ex.ticker)) != ex.inputs["data"]:
        return
    version = dvc_repo.record_data(root, {f"{ex.ticker}.csv": ex.inputs["data"]})
    if version is None and dvc_repo.is_repo(root):
        pending = ", ".join(dvc_repo.unvalidated_changes(root, {f"{ex.ticker}.csv": ex.inputs["data"]}))
        _note(ex, tags={tracking.DATA_VERSION: f"not recorded: data/ also changed unvalidated ({pending})"})
    elif version is not None:
        _note(ex, tags={tracking.DATA_VERSION: version})
        remember_validated_data_version(root)


def conclude(ex: Execution, reused: list[str] | None = None, times: dict[str, float] | None = None) -> dict[str, Any]:
    """Record every stage, log the model, apply the gate, publish for DVC, end the run FINISHED; all summaries.

    `times`: each stage's seconds when this process did not run them (under DVC), else the execution's own.
    """
    from tasks.stages import promote

    started = time.perf_counter()
    tracker = tracker_for(ex.ws.root, ex.params)
    try:
        tracking.wait_until_reachable(tracker.uri, ex.params.mlflow.wait_s)
    except TrackingError:
        raise TrackingError(
            f"the MLflow tracking server {tracker.uri} stopped answering during the run and did not come back within "
            f"mlflow.wait_s ({ex.params.mlflow.wait_s:g} s).\n{_kept(ex)}"
        ) from None
    _log_notes(ex, tracker)
    if times is not None:
        tracker.log_metrics(ex.run_id, {f"time/{stage}_s": seconds for stage, seconds in times.items()})
    record.log_stages(tracker, ex.run_id, ex.ws, ex.ticker, with_headline=False)  # logged once, complete, below
    f = catalog.files("promote", ex.ws, ex.ticker)
    tracker.log_forecaster(
        ex.run_id,
        f.input("train/model.keras"),
        f.input("preprocess/transform.joblib"),
        {"threshold": ex.params.backtest.threshold, "allow_short": ex.params.backtest.allow_short,
         "shrink": _json(f.input("train/summary.json"))["shrink"],
         "interval": _json(f.input("evaluate/interval.json"))},
        {"lookback": ex.params.preprocess.lookback, "features": list(ex.params.preprocess.features),
         "ticker": ex.ticker, "model_key": ex.tags[tracking.MODEL_KEY],
         "interval_level": ex.params.evaluate.interval_level},
    )  # fmt: skip
    run_start = tracker.get_run(ex.run_id).info.start_time
    version_tags = {
        tracking.MODEL_KEY: ex.tags[tracking.MODEL_KEY],
        tracking.DATA_VERSION: tracker.get_run(ex.run_id).data.tags.get(tracking.DATA_VERSION, "unknown"),
        tracking.DATA_FILE_MD5: ex.inputs["data"],
        tracking.TRAINED_AT: promote.trained_at(run_start),
        "stockflow.run_id": ex.run_id,
        **_windows(f),
    }
    gate = promote.compute(ex.ws, ex.params, ex.ticker, tracker, ex.run_id, version_tags)
    results = {**record.summaries(ex.ws, ex.ticker), "run_id": ex.run_id, "ticker": ex.ticker,
               "preset": ex.params.preset, "name": ex.name, "data_md5": ex.inputs["data"],
               "seconds": stage_times(ex) if times is None else times}  # fmt: skip
    verdict = f"{'promoted' if gate['promote'] else 'rejected'} v{gate['version']}: {gate['reason']}"
    tracker.log_metrics(ex.run_id, {f"promote/{k}": v for k, v in gate.items()})
    tracker.log_metrics(ex.run_id, for_mlflow(_json(ex.ws.headline_file(ex.ticker))))
    results["published"] = _publish(ex)
    tags = {
        tracking.PROMOTION: verdict,
        tracking.MODEL_VERSION: gate["version"],
        "stockflow.published": results["published"],
    }
    if reused is not None:
        tags[tracking.STAGES_REUSED] = ", ".join(reused) or "none"
    tracker.set_tags(ex.run_id, {**tags, tracking.NOTE: "```\n" + run_summary(results) + "\n```"})
    tracker.log_metrics(ex.run_id, {"time/promote_s": time.perf_counter() - started})
    tracker.end(ex.run_id)
    if ex.ws.is_private:
        ex.ws.remove()
    return results


def _windows(f: catalog.StageFiles) -> dict[str, str]:
    """What the model was trained and judged on, for the monitor: its data's last bar, its train and test windows."""
    pre, ev = _json(f.input("preprocess/summary.json")), _json(f.input("evaluate/summary.json"))
    return {
        tracking.DATA_THROUGH: pre["data_through"],
        tracking.TRAIN_WINDOW: f"{pre['train_start']}..{pre['train_end']}",
        tracking.TEST_WINDOW: f"{pre['test_start']}..{pre['test_end']}",
        tracking.TEST_MAE_RATIO: repr(float(ev["mae_ratio"])),
        tracking.INTERVAL_LEVEL: repr(float(ev["interval"]["level"])),
        tracking.TEST_COVERAGE: repr(float(ev["interval"]["model"]["coverage"])),
    }


def _json(path: Path) -> dict:
    return json.loads(path.read_text())


def _publish(ex: Execution) -> str:
    """Put the outputs where `dvc.yaml` expects them and in dvc.lock, when they describe params.yaml as it is."""
    root = ex.ws.root
    if not ex.publish:
        return "by DVC"
    why_not = None
    if ex.overrides:
        why_not = "settings were overridden for this run (--set / --preset)"
    elif not dvc_repo.is_repo(root):
        why_not = "the project is not a DVC repository"
    elif ex.ticker not in dvc_repo.pipeline_tickers(root):
        why_not = f"{ex.ticker} is not in params.yaml's data.tickers"
    elif md5(ex.ws.params_file) != ex.inputs["params"]:
        why_not = "params.yaml changed during the run"
    elif md5(ex.ws.project_data_file(ex.ticker)) != ex.inputs["data"]:
        why_not = f"data/{ex.ticker}.csv changed during the run"
    elif provenance.code_fingerprint() != ex.inputs["code"]:
        why_not = "the code changed during the run"
    if why_not:
        return f"no: {why_not}"
    dvc_repo.publish(ex.ws, ex.ticker)
    return "outputs/ and dvc.lock"


def abort(ex: Execution, exc: BaseException) -> str:
    """Record what the stages left, end the run FAILED with the reason; nothing is registered. The reason.

    With the tracking server down, nothing can be recorded: the workspace is kept, marked to be recorded
    later (`record_later`), and the run stays as the server last saw it until then.
    """
    reason = failure_reason(exc)
    tracker = tracker_for(ex.ws.root, ex.params)
    if ex.ws.is_private and not _answers(tracker.uri):
        _mark_unrecorded(ex, None if _stages_done(ex) else reason)
        stopped = isinstance(exc, (Interrupted, KeyboardInterrupt)) or type(exc).__name__ == "TerminationSignal"
        if stopped or isinstance(exc, StockflowError):
            return reason
        # An MLflow call that gave up (the server went away during the record): say that, not its traceback.
        raise TrackingError(f"the MLflow tracking server {tracker.uri} stopped answering ({reason}).\n{_kept(ex)}")
    try:
        _log_notes(ex, tracker)
        record.log_stages(tracker, ex.run_id, ex.ws, ex.ticker)
    finally:
        tracker.end(ex.run_id, failure=reason)
        if ex.ws.is_private:
            ex.ws.remove()
    return reason


# --- executions the tracking server was down for ----------------------------------------------------------------

_UNRECORDED = "unrecorded.json"  # in a kept work folder: the execution, to be recorded once the server answers


def _answers(uri: str) -> bool:
    try:
        tracking.check_reachable(uri)
        return True
    except TrackingError:
        return False


def _stages_done(ex: Execution) -> bool:
    """Whether every stage before promote wrote its outputs: then recording it later is concluding it."""
    return all((ex.ws.stage_dir(ex.ticker, s.name) / name).is_file() for s in catalog.STAGES[:-1] for name in s.writes)


def _kept(ex: Execution) -> str:
    where = ex.ws.work.relative_to(ex.ws.root) if ex.ws.work.is_relative_to(ex.ws.root) else ex.ws.work
    return (f"Nothing was registered; the stage outputs are kept in {where}. Once the server answers again, "
            f"`stockflow record {ex.run_id}` records the run (no training again).")  # fmt: skip


def _mark_unrecorded(ex: Execution, failure: str | None) -> None:
    """Keep the workspace with what it takes to record it later: `failure` None when every stage was done."""
    state = {"run_id": ex.run_id, "ticker": ex.ticker, "name": ex.name, "overrides": list(ex.overrides),
             "inputs": ex.inputs, "tags": ex.tags, "publish": ex.publish, "settings": ex.settings,
             "failure": failure}  # fmt: skip
    (ex.ws.work / _UNRECORDED).write_text(json.dumps(state, indent=2))


def unrecorded(root: Path) -> dict[str, Path]:
    """run id -> kept work folder, for every execution waiting to be recorded in this project."""
    found = {}
    for marker in sorted((root / RUNS).glob(f"*/{_UNRECORDED}")) if (root / RUNS).is_dir() else []:
        try:
            found[json.loads(marker.read_text())["run_id"]] = marker.parent
        except (OSError, ValueError, KeyError):
            continue
    return found


def _unrecorded_reasons(root: Path) -> dict[str, str]:
    return {run_id: f"not recorded: the tracking server stopped answering before the run ended; its outputs wait in "
                    f"{folder.relative_to(root)}: `stockflow record {run_id}`"
            for run_id, folder in unrecorded(root).items()}  # fmt: skip


def record_later(root: Path | str, run_id: str) -> dict[str, Any]:
    """Record a kept execution now that the server answers: conclude it (gate, register, publish) if its stages
    were done, else record it FAILED with its reason. Its results (conclude's, or `failure`)."""
    from stockflow.config import parse_params

    root = Path(root).resolve()
    folder = unrecorded(root).get(run_id)
    if folder is None:
        raise UsageError(f"no execution of run {run_id} waits to be recorded in {root / RUNS}")
    state = json.loads((folder / _UNRECORDED).read_text())
    import yaml

    params = parse_params(yaml.safe_load(state["settings"]))
    tracker = tracker_for(root, params)
    tracking.check_reachable(tracker.uri)
    ex = Execution(Workspace(root, folder), state["ticker"], params, run_id, state["name"], tuple(state["overrides"]),
                   state["inputs"], state["tags"], state["publish"], state["settings"])  # fmt: skip
    _claim(ex.ws)  # this process owns it now: no other execution's clean-up removes it meanwhile
    (folder / _UNRECORDED).unlink()
    tracker.reopen(run_id)
    tracker.set_tags(
        run_id,
        {
            tracking.PID: str(os.getpid()),
            tracking.PID_STARTED: str(tracking.process_started(os.getpid())),
            tracking.HOST: tracking.host(),
        },
    )
    try:
        if state["failure"] is not None:
            abort(ex, StockflowError(state["failure"]))
            return {"run_id": run_id, "ticker": ex.ticker, "failure": state["failure"]}
        return conclude(ex)
    except BaseException as exc:
        abort(ex, exc)
        raise


def failure_reason(exc: BaseException) -> str:
    """What a run's `stockflow.failure` tag says about an exception, in a line."""
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted by SIGINT"
    if isinstance(exc, Interrupted) or type(exc).__name__ == "TerminationSignal":  # Prefect's SIGTERM
        name = getattr(exc, "signal_name", "SIGTERM")
        cause = stop_cause() if name == "SIGTERM" else ""  # set when this process stopped itself, and why
        return f"interrupted by {name}" + (f": {cause}" if cause else "")
    if isinstance(exc, DataValidationError):
        return "data validation failed: " + "; ".join(f.line() for f in exc.report.errors)
    if isinstance(exc, StockflowError):
        return str(exc)
    if prefect_api_gone(exc):
        return f"the Prefect API stopped answering ({type(exc).__name__}: {exc})"
    return f"{type(exc).__name__}: {exc}"


def prefect_api_gone(exc: BaseException) -> bool:
    """Whether `exc` is the Prefect client giving up on its API (a team's server gone): httpx's transport errors.

    MLflow speaks HTTP through requests, so an httpx error in a run is Prefect's.
    """
    import httpx

    return isinstance(exc, httpx.TransportError)


# --- workspaces left behind -----------------------------------------------------------------------------------


def _claim(ws: Workspace) -> None:
    """Name this process as the workspace's owner, so a later execution can tell an abandoned one."""
    if ws.is_private:
        owner = {"host": tracking.host(), "pid": os.getpid(), "started": tracking.process_started(os.getpid())}
        (ws.work / "owner.json").write_text(json.dumps(owner))


def remove_abandoned_workspaces(root: Path) -> None:
    """Delete private workspaces whose process is gone (a kill -9 leaves its workspace behind)."""
    for folder in (root / RUNS).glob("*") if (root / RUNS).is_dir() else []:
        if (folder / _UNRECORDED).is_file():
            continue  # waits for `stockflow record`
        owner = folder / "owner.json"
        try:
            info = json.loads(owner.read_text())
        except (OSError, ValueError):
            if time.time() - folder.stat().st_mtime > 3600:  # never claimed: a crash right at the start
                shutil.rmtree(folder, ignore_errors=True)
            continue
        if info.get("host") != tracking.host():
            continue  # another machine's (a shared project folder): only it can tell whether its process lives
        if tracking.process_started(int(info["pid"])) != info["started"]:
            shutil.rmtree(folder, ignore_errors=True)


# --- the data version DVC would otherwise adopt -----------------------------------------------------------------

_VALIDATED = Path(".stockflow") / "data.dvc.validated"


def remember_validated_data_version(root: Path) -> None:
    """Keep data.dvc as it describes validated data, to restore if `dvc repro` adopts data that then fails."""
    source = root / "data.dvc"
    if source.is_file():
        (root / _VALIDATED).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / _VALIDATED)


def restore_validated_data_version(root: Path) -> bool:
    """Undo `dvc repro`'s rewrite of data.dvc after a failed validation; True if something changed.

    The last validated data.dvc comes from the snapshot, else from git HEAD.
    """
    snapshot = root / _VALIDATED
    text = snapshot.read_text() if snapshot.is_file() else provenance.git(root, "show", "HEAD:data.dvc")
    return dvc_repo.restore_data_version(root, text or "")
