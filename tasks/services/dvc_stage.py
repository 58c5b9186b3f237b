"""How `dvc repro` runs a stage: `python -m tasks STAGE TICKER`, in the project, on params.yaml as DVC left it.

Stages only write files. The last one (`promote`) opens this repro's MLflow run and
records it from those files, so no run is ever joined across processes; a stage
that fails records a FAILED run of its own with what exists. Either way one repro
gives one run, and the run says which stages this repro reused (skipped as up to
date, or restored from DVC's run-cache) rather than ran.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from stockflow.errors import DataValidationError, Interrupted, StockflowError, UsageError, check_ticker
from tasks import kinds
from tasks.kinds import Subject
from tasks.services import dvc_repo, execution, provenance, record, tracking
from tasks.services.failures import failure_reason
from tasks.services.workspace import Workspace


def main(stage: str, ticker: str) -> int:
    """Run `stage` for `ticker` (or, for a universe stage, the universe of that name) as `dvc repro` asks; the exit
    code (0, or the error's)."""
    ws = Workspace.project(Path.cwd())
    try:
        check_ticker(ticker)
        if stage not in kinds.STAGES:
            raise UsageError(f"no stage {stage!r}; stages: {', '.join(kinds.STAGES)}")
        params = ws.load_params()
        subject = kinds.of_stage(stage).subject(ticker, params.universes)
    except StockflowError as exc:
        print(f"stockflow: {exc}", file=sys.stderr)
        return exc.exit_code
    try:
        if stage == subject.names[-1]:
            ran = dvc_repo.stages_ran(ws.root, ticker)
            reused = None if ran is None else [s for s in subject.names[:-1] if s not in ran]
            ex = execution.begin(ws.root, subject, trigger=_trigger(), ws=ws)
            try:
                execution.conclude(ex, reused=reused, times=ran or {})
            except BaseException as exc:
                execution.abort(ex, exc)
                raise
        else:
            started = time.perf_counter()
            execution.run_stage(ws, params, ticker, stage)
            if stage == subject.names[0]:  # the data gate passed
                dvc_repo.remember_validated_data_version(ws.root)
            dvc_repo.note_stage_ran(ws.root, stage, ticker, time.perf_counter() - started)
        return 0
    except BaseException as exc:  # noqa: BLE001 - every failure is recorded, then reported
        return _failed(ws, params, subject, stage, exc)


def _trigger() -> str:
    import os

    return "dvc exp" if os.environ.get("DVC_EXP_NAME") else "dvc"


def _failed(ws: Workspace, params, subject: Subject, stage: str, exc: BaseException) -> int:
    """Record this repro's FAILED run (unless the last stage already did), undo DVC's data.dvc rewrite, report."""
    if stage != subject.names[-1]:
        tracker = tracking.tracker_for(ws.root, params)
        run_id = tracker.open_run(
            f"{subject.name} failed at {stage}",
            provenance.recorded_params(params, subject.kind),
            {**tracking.subject_tags(subject.name, subject.kind.tagged_tickers(subject)), tracking.TRIGGER: _trigger(),
             tracking.PRESET: params.preset, **dvc_repo.experiment()},
        )  # fmt: skip
        try:
            record.log_stages(
                tracker, run_id, ws, subject.name, subject.stages, upto=stage, headline=subject.kind.headline
            )
        finally:
            tracker.finish(run_id, failure=f"{stage}: {failure_reason(exc)}")
    if isinstance(exc, DataValidationError):
        print(exc.report.to_text(), file=sys.stderr)
        if dvc_repo.restore_validated_data_version(ws.root):
            print("data.dvc restored to the last validated data version.", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, (StockflowError, Interrupted)):
        print(f"stockflow: {failure_reason(exc)}", file=sys.stderr)
        return exc.exit_code
    if isinstance(exc, KeyboardInterrupt):
        return 130
    raise exc
