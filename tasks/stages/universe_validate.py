"""Stage `universe_validate`: the data-quality gate on every ticker of a universe, before anything trains.

An OHLCV file is checked by the OHLCV suite (validate.suite), a close-only one (no Open,
High, Low) by the close suite (validate.close_suite). The universe is refused, naming the
ticker and the reason, when it is not defined, has fewer than two tickers, or a ticker
has no data or fails its suite: nothing is trained, recorded or registered.
"""

from __future__ import annotations

import dataclasses

from stockflow.config import Params
from stockflow.errors import DataValidationError, UniverseError
from stockflow.validation import ValidationReport
from tasks.services import catalog
from tasks.services.files import read_price_file, write_json
from tasks.services.workspace import Workspace
from tasks.stages.validate import remembered_check, suite_for

STAGE = "universe_validate"


def tickers_of(params: Params, name: str) -> tuple[str, ...]:
    """The tickers of universe `name`; UniverseError when it is undefined or has fewer than two."""
    if name not in params.universes:
        defined = ", ".join(params.universes) or "none"
        raise UniverseError(f"universe {name!r} is not defined under `universes` in params.yaml (defined: {defined}); "
                            f"for one run: --set 'universes.{name}=[a,b,c]'")  # fmt: skip
    tickers = params.universes[name]
    if len(tickers) < 2:
        raise UniverseError(f"universe {name!r} has {len(tickers)} ticker(s): a universe ranks at least two")
    return tickers


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Check every ticker's file; write the reports (JSON, Markdown); UniverseError or DataValidationError naming
    the first ticker that fails."""
    f = catalog.files(STAGE, ws, name)
    tickers = tickers_of(params, name)
    paths = f.prices(tickers)
    missing = [t for t, path in paths.items() if not ws.project_data_file(t).is_file() and not path.is_file()]
    if missing:
        raise UniverseError(f"universe {name!r}: no data for {', '.join(missing)} (data/{missing[0]}.csv not found): "
                            f"`stockflow ingest --ticker {missing[0]} --source ...` first")  # fmt: skip
    suites = f.suites(params.validate_.suite, params.validate_.close_suite)
    reports: dict[str, ValidationReport] = {}
    for ticker, path in paths.items():
        prices = read_price_file(path)
        suite = suite_for(params, prices.columns)
        reports[ticker] = remembered_check(ws, params, path, suites[suite], prices, f"data/{ticker}.csv")
    write_json(f.output("report.json"), {t: r.to_dict() for t, r in reports.items()})
    f.output("report.md").write_text("\n\n".join(r.to_markdown() for r in reports.values()))
    failed = {t: r for t, r in reports.items() if not r.success}
    summary = {
        "tickers": len(tickers),
        "failed": len(failed),
        "close_only": sum(r.suite == params.validate_.close_suite for r in reports.values()),
        "rows": sum(r.rows for r in reports.values()),
        "warnings": sum(len(r.warnings) for r in reports.values()),
    }
    write_json(f.output(catalog.SUMMARY), summary)
    if failed:
        ticker, report = next(iter(failed.items()))
        named = dataclasses.replace(report, source=f"{ticker} (data/{ticker}.csv)")
        raise DataValidationError(named, f"Universe {name!r} refused at universe_validate: {', '.join(failed)} failed "
                                         "the data gate; nothing was trained or registered.")  # fmt: skip
    return summary
