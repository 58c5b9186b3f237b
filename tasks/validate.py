"""Stage `validate`: the data-quality gate on data/<ticker>.csv, before anything trains."""

from __future__ import annotations

import shutil
from pathlib import Path

from stockflow.config import Params
from stockflow.validation import DataValidationError, ValidationReport, validate_prices
from tasks import tracking
from tasks.prices_io import read_price_file
from tasks.project import Project, read_json, write_json

STAGE = "validate"


def check_file(project: Project, params: Params, path: Path, source: str | None = None) -> ValidationReport:
    """Validate any price file against the project's suite; raises PriceFileError if unreadable."""
    return check_frame(project, params, read_price_file(path), source or str(path))


def check_frame(project: Project, params: Params, frame, source: str) -> ValidationReport:
    """Validate prices already read (`source` names them in the report)."""
    return validate_prices(frame, project.load_suite(params.validate_.suite), params.validate_, source=source)


def compute(project: Project, params: Params, ticker: str) -> ValidationReport:
    path = project.data_file(ticker)
    report = check_file(project, params, path, source=str(path.relative_to(project.root)))
    out = project.out_dir(ticker, STAGE)
    write_json(out / "report.json", report.to_dict())
    (out / "report.md").write_text(report.to_markdown())
    write_json(
        project.metrics_file(ticker, STAGE),
        {"rows": report.rows, "errors": len(report.errors), "warnings": len(report.warnings)},
    )
    return report


def record(project: Project, params: Params, ticker: str) -> None:
    from stockflow import plots

    out = project.out_dir(ticker, STAGE)
    for name in ("report.json", "report.md"):
        if (out / name).exists():
            tracking.log_file(out / name, "validation")
    metrics_file = project.metrics_file(ticker, STAGE)
    if metrics_file.exists():
        tracking.log_stage_metrics(STAGE, read_json(metrics_file))
    path = project.data_file(ticker)
    if path.exists():
        try:
            prices = read_price_file(path)
            tracking.log_figure(plots.price_chart(prices, f"{ticker}: open and close"), "plots/prices.png")
        except Exception:  # a chart of unreadable data is not worth failing the report for
            pass


def validate(project: Project, params: Params, ticker: str, run_id: str, final: bool = False) -> dict:
    """Validate, log the report into the run; raise DataValidationError (run FAILED) on errors."""
    with tracking.stage_run(project, params, run_id, final=final):
        report = compute(project, params, ticker)
        record(project, params, ticker)
        if not report.success:
            raise DataValidationError(report)
    remember_valid_data(project)
    return report.to_dict()


def _snapshot(project: Project) -> Path:
    return project.root / ".stockflow" / "data.dvc.valid"


def remember_valid_data(project: Project) -> None:
    """Keep the data.dvc that describes validated data, to restore if a later check fails."""
    dvc_file = project.root / "data.dvc"
    if dvc_file.exists():
        _snapshot(project).parent.mkdir(exist_ok=True)
        shutil.copyfile(dvc_file, _snapshot(project))


def restore_valid_data_version(project: Project) -> bool:
    """Undo `dvc repro`'s rewrite of data.dvc after failed validation; True if something changed.

    The last validated data.dvc comes from the snapshot, else from git HEAD.
    """
    import subprocess

    dvc_file = project.root / "data.dvc"
    snapshot = _snapshot(project)
    if snapshot.exists():
        good = snapshot.read_text()
    else:
        out = subprocess.run(["git", "show", "HEAD:data.dvc"], cwd=project.root, capture_output=True, text=True)
        if out.returncode != 0:
            return False
        good = out.stdout
    if dvc_file.exists() and dvc_file.read_text() == good:
        return False
    dvc_file.write_text(good)
    return True
