"""One execution of the pipeline for one ticker, or one universe of tickers, whichever orchestrator starts it.

    begin -> compute each stage -> conclude (the last stage records and gates; publish; end)     or abort

`begin` gives the execution its own workspace and its own MLflow run (RUNNING,
with every param and the code, data and settings that made it); the stages only
write files there, and the last one (`promote`) records the run from those files
and applies the gate; `conclude` then publishes the outputs for DVC when they
describe params.yaml as it is, and ends the run FINISHED. `abort` records what
exists and ends it FAILED. The Prefect flows call these in order; `dvc repro`
calls the same from its stage processes (`tasks/services/dvc_stage.py`).
Tracking, DVC, failures and runs recorded later are each their service's.
"""

from __future__ import annotations

import dataclasses
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stockflow.config import Params
from stockflow.errors import StockflowError, TrackingError
from tasks import kinds
from tasks.kinds import TICKER, Subject
from tasks.services import dvc_repo, provenance, record, tracking, unrecorded
from tasks.services.failures import failure_reason, stopped
from tasks.services.workspace import Workspace, md5, remove_abandoned


@dataclass(frozen=True)
class Execution:
    """One execution in flight: its workspace (with its MLflow run), subject (a ticker, a universe) and settings."""

    ws: Workspace
    subject: Subject
    params: Params
    name: str
    overrides: tuple[str, ...] = ()
    inputs: dict[str, str] = field(default_factory=dict)  # params file, data and code as they were at the start
    tags: dict[str, str] = field(default_factory=dict)
    publish: bool = True  # flows publish their outputs for DVC; under DVC, DVC records them itself
    settings: str = ""  # params.yaml as the run read it, its overrides applied (`provenance.settings_file`)

    @property
    def run_id(self) -> str:
        return self.ws.run_id

    @property
    def ticker(self) -> str:
        """The ticker's name, or the universe's: what the stages, the outputs and the record are named by."""
        return self.subject.name

    @property
    def tracker(self) -> tracking.Tracker:
        return tracking.tracker_for(self.ws.root, self.params)


def begin(root: Path | str, subject: str | Subject, overrides: list[str] | tuple[str, ...] = (),
          trigger: str = "cli", name: str | None = None, parent_run_id: str | None = None,
          links: dict[str, str] | None = None, ws: Workspace | None = None) -> Execution:  # fmt: skip
    """Load the settings once, give the execution its workspace and snapshot of the data, open its run.

    `subject`: a ticker's name, or a universe (`Subject`, its tickers from params.yaml's `universes`).
    """
    root = Path(root).resolve()
    params_md5 = md5(root / "params.yaml") if (root / "params.yaml").is_file() else ""
    params = Workspace.project(root).load_params(overrides)
    # A name that cannot be one, a universe undefined or of fewer than two tickers: refused before a run is opened.
    subject = (
        subject.kind.checked(params, subject.name) if isinstance(subject, Subject) else TICKER.checked(params, subject)
    )
    private = ws is None
    ws = ws or Workspace.private(root, subject.registered)
    try:
        ws.claim()
        files = {t: ws.snapshot_data(t) for t in subject.tickers}  # ticker -> md5 of its price file
        data_md5 = subject.kind.data_md5(subject.name, files)
        tracker = tracking.tracker_for(root, params)
        tracker.fail_dead_runs(unrecorded.reasons(root))
        remove_abandoned(root)
        code_tags, diff = provenance.code_version(root)
        settings = provenance.describe(subject.label, params, root, subject.kind)
        tags = {
            **code_tags,
            **dvc_repo.experiment(),
            **(links or {}),
            **tracking.subject_tags(subject.name, subject.kind.tagged_tickers(subject)),
            tracking.PRESET: params.preset,
            tracking.SETTINGS: settings,
            tracking.TRIGGER: trigger,
            tracking.DATA_VERSION: dvc_repo.data_version(root),
            tracking.DATA_FILE_MD5: data_md5,
            tracking.MODEL_KEY: provenance.model_key(data_md5, params, subject.kind),
            tracking.WORKSPACE: str(ws.work.relative_to(root)) if ws.work.is_relative_to(root) else str(ws.work),
        }
        run_name = name or provenance.run_name(settings)
        run_id = tracker.open_run(run_name, provenance.recorded_params(params, subject.kind), tags,
                                  parent=parent_run_id)  # fmt: skip
        for ticker, digest in files.items():
            tracker.log_dataset(run_id, ws.data_file(ticker), ticker, digest, tags[tracking.DATA_VERSION])
        settings_text = provenance.settings_file(root, overrides)
        tracker.log_text(run_id, settings_text, provenance.SETTINGS_FILE)
        if diff:
            tracker.log_text(run_id, diff, "code.diff")
    except BaseException:
        if private:
            ws.remove()
        raise
    inputs = {
        "params": params_md5,
        "data": data_md5,
        "code": provenance.code_fingerprint(subject.names),
        "files": files,
    }
    return Execution(dataclasses.replace(ws, run_id=run_id), subject, params, run_name, tuple(overrides), inputs,
                     tags, private, settings_text)  # fmt: skip


def compute(ex: Execution, stage: str, progress: bool = False) -> dict:
    """Run one stage into the execution's workspace; its summary. Its duration goes to the run (`time/<stage>_s`)
    and to the execution's own record of times (`stage_times`), never into the stage's outputs."""
    started = time.perf_counter()
    summary = run_stage(ex.ws, ex.params, ex.ticker, stage, progress)
    if stage == ex.subject.names[0]:  # the data gate passed
        _record_data_version(ex)
    seconds = time.perf_counter() - started
    unrecorded.note(ex.ws, ex.tracker, ex.run_id, metrics={f"time/{stage}_s": seconds})
    times = ex.ws.work / _TIMES
    times.write_text(json.dumps({**(json.loads(times.read_text()) if times.is_file() else {}), stage: seconds}))
    return summary


_TIMES = "times.json"  # in a private work folder: each stage's seconds, for the run's summary


def stage_times(ex: Execution) -> dict[str, float]:
    """The seconds each stage of the execution took so far (what the summary's training line reads)."""
    times = ex.ws.work / _TIMES
    return json.loads(times.read_text()) if ex.ws.is_private and times.is_file() else {}


def run_stage(ws: Workspace, params: Params, ticker: str, stage: str, progress: bool = False) -> dict:
    """A stage's compute; while it trains, SIGINT and SIGTERM take effect between batches (see `deferred_signals`)."""
    from stockflow.models import calling_every_batch
    from tasks.services.process import check_signals, deferred_signals

    declared, compute = kinds.STAGES[stage], kinds.COMPUTE[stage]
    kwargs = {"progress": progress} if declared.shows_progress else {}
    if not declared.trains:
        return compute(ws, params, ticker, **kwargs)
    with deferred_signals(), calling_every_batch(check_signals):
        return compute(ws, params, ticker, **kwargs)


def _record_data_version(ex: Execution) -> None:
    """Validated data becomes the recorded DVC version, unless the project's files changed meanwhile."""
    root, validated = ex.ws.root, {f"{t}.csv": digest for t, digest in ex.inputs["files"].items()}
    if not ex.ws.is_private or dvc_repo.changed_file(ex.ws, ex.inputs["files"]):
        return
    version = dvc_repo.record_data(root, validated)
    if version is None and dvc_repo.is_repo(root):
        pending = ", ".join(dvc_repo.unvalidated_changes(root, validated))
        version = f"not recorded: data/ also changed unvalidated ({pending})"
    if version is not None:
        unrecorded.note(ex.ws, ex.tracker, ex.run_id, tags={tracking.DATA_VERSION: version})


def conclude(ex: Execution, reused: list[str] | None = None, times: dict[str, float] | None = None) -> dict[str, Any]:
    """The last stage (record, gate), then publish for DVC and end the run FINISHED; every stage's summary.

    `times`: each stage's seconds when this process did not run them (under DVC), else the execution's own.
    """
    started = time.perf_counter()
    tracker = ex.tracker
    try:
        tracking.wait_until_reachable(tracker.uri, ex.params.mlflow.wait_s)
    except TrackingError:
        raise TrackingError(
            f"the MLflow tracking server {tracker.uri} stopped answering during the run and did not come back within "
            f"mlflow.wait_s ({ex.params.mlflow.wait_s:g} s).\n{unrecorded.kept_message(ex.ws, ex.run_id)}"
        ) from None
    unrecorded.log_notes(ex.ws, tracker, ex.run_id)
    if times is not None:
        tracker.log_metrics(ex.run_id, {f"time/{stage}_s": seconds for stage, seconds in times.items()})
    record.log_stages(tracker, ex.run_id, ex.ws, ex.ticker, ex.subject.stages)  # its headline: the gate's
    run_stage(ex.ws, ex.params, ex.ticker, ex.subject.names[-1])
    results = {**record.summaries(ex.ws, ex.ticker, ex.subject.stages), "run_id": ex.run_id, "ticker": ex.ticker,
               "kind": ex.subject.kind.name, "registered": ex.subject.registered, "preset": ex.params.preset,
               "name": ex.name, "data_md5": ex.inputs["data"],
               "seconds": stage_times(ex) if times is None else times}  # fmt: skip
    results["published"] = _publish(ex)
    results["text"] = ex.subject.kind.summary(results)
    tags = {"stockflow.published": results["published"], tracking.NOTE: "```\n" + results["text"] + "\n```"}
    if reused is not None:
        tags[tracking.STAGES_REUSED] = ", ".join(reused) or "none"
    tracker.set_tags(ex.run_id, tags)
    tracker.log_metrics(ex.run_id, {"time/promote_s": time.perf_counter() - started})
    tracker.end(ex.run_id)
    if ex.ws.is_private:
        ex.ws.remove()
    return results


def _publish(ex: Execution) -> str:
    """Put the outputs where `dvc.yaml` expects them and in dvc.lock, when they describe params.yaml as it is."""
    if not ex.publish:
        return "by DVC"
    why_not = dvc_repo.why_not_publish(ex.ws, ex.subject, ex.overrides, ex.inputs)
    if why_not:
        return f"no: {why_not}"
    dvc_repo.publish(ex.ws, ex.subject)
    return "outputs/ and dvc.lock"


def abort(ex: Execution, exc: BaseException) -> str:
    """Record what the stages left, end the run FAILED with the reason; nothing is registered. The reason.

    With the tracking server down, nothing can be recorded: the workspace is kept, marked to be recorded
    later (`tasks/services/unrecorded.py`), and the run stays as the server last saw it until then.
    """
    reason = failure_reason(exc)
    tracker = ex.tracker
    if ex.ws.is_private and not unrecorded.answers(tracker.uri):
        done = all((ex.ws.stage_dir(ex.ticker, s.name) / name).is_file() for s in ex.subject.stages[:-1]
                   for name in s.writes)  # fmt: skip
        state = {"run_id": ex.run_id, "ticker": ex.ticker, "tickers": list(ex.subject.tickers),
                 "kind": ex.subject.kind.name, "name": ex.name, "overrides": list(ex.overrides),
                 "inputs": ex.inputs, "tags": ex.tags, "publish": ex.publish, "settings": ex.settings,
                 "failure": None if done else reason}  # fmt: skip
        unrecorded.keep(ex.ws, state)
        if stopped(exc) or isinstance(exc, StockflowError):
            return reason
        # An MLflow call that gave up (the server went away during the record): say that, not its traceback.
        raise TrackingError(f"the MLflow tracking server {tracker.uri} stopped answering ({reason}).\n"
                            f"{unrecorded.kept_message(ex.ws, ex.run_id)}")  # fmt: skip
    try:
        unrecorded.log_notes(ex.ws, tracker, ex.run_id)
        record.log_stages(tracker, ex.run_id, ex.ws, ex.ticker, ex.subject.stages, headline=ex.subject.kind.headline)
    finally:
        tracker.end(ex.run_id, failure=reason)
        if ex.ws.is_private:
            ex.ws.remove()
    return reason
