"""Stage `validate`: the data-quality gate on the ticker's price file, before anything trains."""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
from pathlib import Path

import pandas as pd

from stockflow.config import Params
from stockflow.data.validation import ValidationReport, validate_prices
from stockflow.errors import DataValidationError, StockflowError, UsageError
from tasks.services import catalog
from tasks.services.files import atomic, read_download, read_json, read_price_file, save_figure, write_json
from tasks.services.workspace import Workspace, md5

STAGE = catalog.Stage(
    "validate",
    "the data-quality gate: the expectation suite on the price file; errors stop everything after it",
    reads=(catalog.DATA, catalog.SUITE),
    writes=("report.json", "report.md", "prices.png", catalog.SUMMARY),
    params=("validate",),
    logged=("report.json", "report.md", "prices.png"),
)


def check_file(ws: Workspace, params: Params, path: Path, source: str | None = None) -> ValidationReport:
    """Validate any price file against the project's suite; PriceFileError if it cannot be read at all.

    The report says what was normalised to read the file (column names, order, `$`, null rows).
    """
    read = read_download(path)
    report = validate_prices(read.frame, ws.load_suite(params.validate_.suite), params.validate_,
                             source=source or str(path), adjusted_by=read.adjusted_by)  # fmt: skip
    return dataclasses.replace(report, notes=[*read.notes, *report.notes])


def suite_for(params: Params, columns) -> str:
    """The suite a price file is checked by: the OHLCV one (validate.suite), or for a file without Open, High and
    Low the close one (validate.close_suite: such a file can be part of a universe, not trained on alone)."""
    return (
        params.validate_.suite if all(c in columns for c in ("Open", "High", "Low")) else params.validate_.close_suite
    )


def check_frame(suite: dict, params: Params, frame: pd.DataFrame, source: str) -> ValidationReport:
    """Validate prices already read (`source` names them in the report)."""
    return validate_prices(frame, suite, params.validate_, source=source)


def validated_prices(ws: Workspace, params: Params, path: Path, refusal: type[StockflowError], what: str,
                     closes_only: bool = False) -> pd.DataFrame:  # fmt: skip
    """The prices of `path` if they pass the suite; else `refusal` with the report (for predict, monitor and tune).
    `closes_only`: a file of closes alone is checked by the close suite (a universe's member) instead of refused."""
    prices = read_price_file(path)
    suite = suite_for(params, prices.columns) if closes_only else params.validate_.suite
    report = remembered_check(ws, params, path, ws.suite_file(suite), prices, str(path))
    if not report.success:
        raise refusal(report.to_text() + f"\nNo {what} from data that fails validation ({path.name}).")
    return prices


def ticker_prices(ws: Workspace, params: Params, ticker: str, refusal: type[StockflowError], what: str,
                  closes_only: bool = False) -> pd.DataFrame:  # fmt: skip
    """A ticker's ingested prices if they are there and pass their suite; else `refusal` naming the file."""
    path = ws.project_data_file(ticker)
    if not path.is_file():
        raise refusal(f"{path} not found: {ticker} has no data (`stockflow ingest --ticker {ticker} --source ...`)")
    return validated_prices(ws, params, path, refusal, what, closes_only)


def remembered_check(ws: Workspace, params: Params, path: Path, suite_path: Path, prices: pd.DataFrame,
                     source: str) -> ValidationReport:  # fmt: skip
    """The suite's report on `prices` (read from `path`), reused when these bytes passed these rules before.

    A pass is remembered under a key of the file's bytes, the suite's, the thresholds and the
    code that reads and checks them: the same bytes under the same rules pass again without
    Great Expectations (seconds of imports and set-up). A failure is never remembered: it is
    checked and reported in full each time.
    """
    if not suite_path.is_file():
        raise UsageError(f"expectation suite {params.validate_.suite!r} not found at {suite_path}")
    stored = _cache_entry(ws, "validated", ".json", *_validation_parts(params, path, suite_path))
    if stored.is_file():
        with contextlib.suppress(ValueError, KeyError, TypeError):  # a damaged entry is checked again
            return dataclasses.replace(ValidationReport.from_dict(read_json(stored)), source=source)
    report = check_frame(read_json(suite_path), params, prices, source)
    if report.success:
        write_json(stored, report.to_dict())
    return report


def _validation_parts(params: Params, path: Path, suite_path: Path) -> list[str]:
    import json

    from stockflow.data import formats, validation

    return [md5(path), md5(suite_path), json.dumps(params.validate_.model_dump()),
            md5(Path(validation.__file__)), md5(Path(formats.__file__))]  # fmt: skip


def _cache_entry(ws: Workspace, kind: str, suffix: str, *parts: str) -> Path:
    """Where `.stockflow/cache/<kind>/` keeps what these digests and settings determine."""
    key = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return ws.root / ".stockflow" / "cache" / kind / f"{key}{suffix}"


def compute(ws: Workspace, params: Params, ticker: str) -> dict:
    """Write the report (JSON, Markdown) and, for valid data, the price chart; DataValidationError on errors."""
    f = catalog.files(STAGE, ws, ticker, params.validate_.suite)
    prices = read_price_file(f.input(catalog.DATA))
    report = remembered_check(ws, params, f.input(catalog.DATA), f.input(catalog.SUITE), prices, f"data/{ticker}.csv")
    write_json(f.output("report.json"), report.to_dict())
    f.output("report.md").write_text(report.to_markdown())
    summary = {"rows": report.rows, "errors": len(report.errors), "warnings": len(report.warnings)}
    if not report.success:
        write_json(f.output(catalog.SUMMARY), summary)
        raise DataValidationError(
            report, "Stopped at validate: nothing was trained or registered, and this data is not recorded in data.dvc."
        )
    _price_chart(ws, prices, f"{ticker}: open and close", f.input(catalog.DATA), f.output("prices.png"))
    write_json(f.output(catalog.SUMMARY), summary)
    return summary


def _price_chart(ws: Workspace, prices: pd.DataFrame, title: str, data: Path, out: Path) -> None:
    """The price chart, drawn once per file, title and plotting code (the same figure gives the same bytes)."""
    from importlib.util import find_spec

    plotting_code = Path(
        find_spec("stockflow.reporting.plots").origin
    )  # found, not imported: matplotlib takes a second
    drawn = _cache_entry(ws, "charts", ".png", md5(data), md5(plotting_code), title)
    if not drawn.is_file():
        from stockflow.reporting import plots

        save_figure(plots.price_chart(prices, title), drawn)
    with atomic(out, "wb") as f:
        f.write(drawn.read_bytes())
