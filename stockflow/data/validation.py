"""The data-quality gate: a Great Expectations suite run on a price frame.

The suite (JSON from `expectations/`) is the single definition of good data.
This module adds the two derived columns the suite needs (`return`,
`gap_days`), runs it in an ephemeral GX context, and turns GX's result objects
into findings a person can read.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from stockflow.config import ValidateParams
from stockflow.data.prices import COLUMNS

MAX_EXAMPLES = 5


@dataclass(frozen=True)
class Finding:
    """One failed expectation in words: the rule, the column, how many rows and a few examples."""

    rule: str  # what good data is (the suite's name for the expectation)
    expectation: str
    severity: str  # "critical" or "warning"
    column: str | None
    count: int | None
    examples: list[str] = field(default_factory=list)
    problem: str = ""  # what is wrong in the file, in words (the suite's meta.problem)

    def line(self) -> str:
        where = f" [{self.column}]" if self.column else ""
        count = f": {self.count} row(s)" if self.count is not None else ""
        examples = f", e.g. {'; '.join(self.examples)}" if self.examples else ""
        return f"{self.severity.upper():8} {self.problem or self.rule}{where}{count}{examples}"


@dataclass(frozen=True)
class ValidationReport:
    """The suite's verdict on one price file: every finding, errors (critical) and warnings."""

    source: str
    suite: str
    rows: int
    checked: int
    findings: list[Finding]
    notes: list[str] = field(default_factory=list)  # what was normalised to read the file (stockflow.data.formats)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "critical"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.severity != "critical"]

    @property
    def success(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "suite": self.suite,
            "rows": self.rows,
            "expectations_checked": self.checked,
            "success": self.success,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "findings": [asdict(f) for f in self.findings],
            "normalised": list(self.notes),
        }

    @classmethod
    def from_dict(cls, stored: dict[str, Any]) -> ValidationReport:
        """The report `to_dict` gave."""
        return cls(source=stored["source"], suite=stored["suite"], rows=stored["rows"],
                   checked=stored["expectations_checked"], findings=[Finding(**f) for f in stored["findings"]],
                   notes=list(stored.get("normalised", [])))  # fmt: skip

    def to_text(self) -> str:
        status = "PASSED" if self.success else "FAILED"
        head = f"{self.source}: {status} ({self.rows} rows, {self.checked} expectations, suite '{self.suite}')"
        notes = [f"  normalised: {note}" for note in self.notes]
        return "\n".join([head, *notes, *("  " + f.line() for f in self.findings)])

    def to_markdown(self) -> str:
        status = "passed" if self.success else "**failed**"
        lines = [
            f"# Data validation: {self.source}",
            "",
            f"Suite `{self.suite}`, {self.rows} rows, {self.checked} expectations checked: {status}, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s).",
            "",
        ]
        if self.notes:
            lines += ["Read as downloaded, normalised:", "", *(f"- {note}" for note in self.notes), ""]
        if self.findings:
            lines += ["| severity | found | column | rows | examples |", "|---|---|---|---|---|"]
            for f in self.findings:
                ex = "; ".join(f.examples).replace("|", "\\|")
                lines.append(f"| {f.severity} | {f.problem or f.rule} | {f.column or ''} | "
                             f"{f.count if f.count is not None else ''} | {ex} |")  # fmt: skip
        else:
            lines.append("Every expectation was met.")
        return "\n".join(lines) + "\n"


def suite_parameters(params: ValidateParams, today: dt.date | None = None) -> dict[str, Any]:
    """The suite's $PARAMETERs from params.yaml's validate section (and today's date)."""
    today = today or dt.date.today()
    return {
        "min_rows": params.min_rows,
        "min_return": -params.max_abs_return,
        "max_return": params.max_abs_return,
        # A single stock's adjusted close moves more than an index's (AAPL -52% on 2000-09-29, RRC -67% in 1990).
        "min_close_return": -params.close_max_abs_return,
        "max_close_return": params.close_max_abs_return,
        "max_gap_days": params.max_gap_days,
        "warn_gap_days": params.warn_gap_days,
        # Bounds on datetime columns must be datetime objects; allow the whole of today.
        "today": dt.datetime.combine(today, dt.time.max),
    }


def prepare(frame: pd.DataFrame) -> pd.DataFrame:
    """Add the derived columns the suite checks; coerce non-numeric prices to NaN so they show as nulls."""
    out = frame.reset_index(drop=True)  # positions: the findings look their cells up by them
    for col in COLUMNS[1:]:
        if col in out.columns and not pd.api.types.is_numeric_dtype(out[col]):
            out[col] = pd.to_numeric(out[col], errors="coerce")
    if "Date" in out.columns:
        dates = out["Date"]
        if dates.dtype == object:
            text = dates.map(lambda v: isinstance(v, str))
            if text.any() and not text.all():  # cells the file's one date format did not read: no second guess
                dates = dates.where(~text)
        out["Date"] = pd.to_datetime(dates, errors="coerce")
        out["gap_days"] = out["Date"].diff().dt.days.astype(float)
    if "Close" in out.columns:
        out["return"] = out["Close"].pct_change(fill_method=None)
    return out


def _quiet_gx() -> None:
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")


def run_suite(frame: pd.DataFrame, suite: dict[str, Any], parameters: dict[str, Any]) -> Any:
    """Run the expectation suite on a prepared frame in an ephemeral GX context; GX's result object."""
    _quiet_gx()
    import logging

    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    for name in ("great_expectations", "great_expectations.data_context.types.base"):
        logging.getLogger(name).setLevel(logging.WARNING)

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    batch = (
        context.data_sources.add_pandas("prices")
        .add_dataframe_asset("frame")
        .add_batch_definition_whole_dataframe("whole")
        .get_batch(batch_parameters={"dataframe": frame})
    )
    spec = {k: v for k, v in suite.items() if k in ("name", "expectations", "meta", "notes")}
    # Unexpected rows come back as positions in the frame: the examples look their cells up in the file's frame.
    return batch.validate(
        gx.ExpectationSuite(**spec), expectation_parameters=parameters, result_format={"result_format": "COMPLETE"}
    )


def _fmt(value: Any) -> str:
    if isinstance(value, (pd.Timestamp, dt.datetime, np.datetime64)):
        ts = pd.Timestamp(value)
        return "NaT" if pd.isna(ts) else ts.strftime("%Y-%m-%d")
    if isinstance(value, (float, np.floating)):
        return "NaN" if np.isnan(value) else f"{float(value):.6g}"
    if isinstance(value, np.generic):
        return str(value.item())
    return str(value)


def _cell(raw: pd.DataFrame, prepared: pd.DataFrame, row: int, column: str) -> str:
    """A cell for a message: the file's own text where it did not read as a value (`$8x.1`, `null`), else the value."""
    if column in raw.columns and isinstance(raw[column].iloc[row], str):
        return repr(raw[column].iloc[row])
    return _fmt(prepared[column].iloc[row])


def _examples(result: dict[str, Any], raw: pd.DataFrame, prepared: pd.DataFrame, columns: list[str]) -> list[str]:
    out = []
    for row in (result.get("unexpected_index_list") or [])[:MAX_EXAMPLES]:
        if not isinstance(row, (int, np.integer)):
            out.append(f"row {row}")
            continue
        date = _cell(raw, prepared, row, "Date") if "Date" in prepared.columns else f"row {row + 1}"
        values = [f"{c}={_cell(raw, prepared, row, c)}" for c in columns if c != "Date" and c in prepared.columns]
        out.append(" ".join([date, *values]))
    if not out:
        for value in (result.get("partial_unexpected_list") or [])[:MAX_EXAMPLES]:
            out.append(_fmt(value))
    if not out and "observed_value" in result:
        out.append(f"observed {_fmt(result['observed_value'])}")
    return out


def findings_from(result: Any, raw: pd.DataFrame, frame: pd.DataFrame) -> list[Finding]:
    """GX's results on the prepared `frame` as findings a person can read, with the cells of `raw` (the frame read
    from the file); errors first; a missing column reported once."""
    missing = {c for c in COLUMNS if c not in frame.columns}
    findings = []
    for r in result.results:
        if r.success:
            continue
        cfg = r.expectation_config
        kwargs = dict(cfg.kwargs)
        columns = [kwargs[k] for k in ("column", "column_A", "column_B") if k in kwargs]
        severity = getattr(cfg.severity, "value", str(cfg.severity)).lower()
        rule = (cfg.meta or {}).get("rule", cfg.type)
        problem = (cfg.meta or {}).get("problem", "")
        # A missing column is reported once, by its own expectation; rules that use it cannot run.
        if cfg.type != "expect_column_to_exist" and missing.intersection(columns):
            continue
        info = r.exception_info or {}
        raised = (
            info.get("raised_exception")
            if isinstance(info, dict) and "raised_exception" in info
            else any(isinstance(v, dict) and v.get("raised_exception") for v in info.values())
            if isinstance(info, dict)
            else False
        )
        res = r.result or {}
        if raised:
            findings.append(
                Finding(rule, cfg.type, severity, ", ".join(columns) or None, None, ["could not be checked"], problem)
            )
            continue
        count = res.get("unexpected_count")
        findings.append(
            Finding(rule, cfg.type, severity, ", ".join(columns) or None, int(count) if count is not None else None,
                    _examples(res, raw.reset_index(drop=True), frame, columns), problem)
        )  # fmt: skip
    # Errors first, then warnings, each in suite order.
    return sorted(findings, key=lambda f: f.severity != "critical")


ADJ_CLOSE = "required column Adj Close"


def validate_prices(
    frame: pd.DataFrame, suite: dict[str, Any], params: ValidateParams, source: str, today: dt.date | None = None,
    adjusted_by: str | None = None,
) -> ValidationReport:  # fmt: skip
    """Run the suite on a raw price frame and return a readable report. `adjusted_by`: the provider that adjusted
    the prices (no Adj Close column is then nothing to warn of)."""
    prepared = prepare(frame)
    result = run_suite(prepared, suite, suite_parameters(params, today))
    findings = findings_from(result, frame, prepared)
    notes = []
    if adjusted_by:
        findings = [f for f in findings if not f.rule.startswith(("Adj Close is present", ADJ_CLOSE))]
        notes.append(f"prices adjusted for splits and dividends by the provider ({adjusted_by})")
    return ValidationReport(source=source, suite=suite.get("name", "?"), rows=len(frame), checked=len(result.results),
                            findings=findings, notes=notes)  # fmt: skip
