"""Stage `universe_validate`: the data-quality gate on every ticker of a universe, before anything trains.

validate.universe_policy `mask` (the default): every bar of every ticker is checked in one pass
(stockflow/data/bars.py, the suite's rules vectorised); a bar real prices cannot give is masked, a zero
volume treated as missing, a ticker the universe cannot use dropped with the reason, and each is
named in `masked.csv` and counted in the summary. `refuse`: each file must pass its suite whole, an
OHLCV file the OHLCV suite (validate.suite), a close-only one (no Open, High, Low) the close suite
(validate.close_suite). Either way the universe is refused, naming the ticker and the reason, when it
is not defined, has fewer than two usable tickers, or a ticker has no data: nothing is trained,
recorded or registered.
"""

from __future__ import annotations

import dataclasses

from stockflow.config import Params
from stockflow.data import bars
from stockflow.data.validation import ValidationReport
from stockflow.errors import DataValidationError, UniverseError
from tasks.services import catalog
from tasks.services.files import read_json, read_price_file, write_csv, write_json
from tasks.services.workspace import Workspace
from tasks.stages.validate import remembered_check, suite_for

STAGE = catalog.Stage(
    "universe_validate",
    "the data-quality gate on every bar of every ticker (validate.universe_policy mask: bars real prices cannot "
    "give masked and named, unusable tickers dropped; refuse: each file by its suite); a ticker with no data, or "
    "fewer than two usable tickers, stops everything after it",
    reads=(catalog.TICKERS, catalog.SUITES),
    writes=("report.json", "report.md", "masked.csv", catalog.SUMMARY),
    params=("validate", "universes"),
    logged=("report.json", "report.md", "masked.csv"),
)
MASKED = "masked.csv"  # every bar the gate flagged: ticker, date, rule, what became of it, the bar's values


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


def check_market(params: Params, source: str) -> bars.Checked:
    """Every bar of a market source checked in one pass (stockflow/data/bars.py)."""
    from tasks import sources

    v = params.validate_
    return bars.check(sources.market(source).long, v.max_abs_return, v.max_gap_days, v.min_rows, v.max_bad_share)


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
    if params.validate_.universe_policy == "mask":
        return _masked(f, params, name, paths)
    write_csv(_no_findings(), f.output(MASKED))
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
        "tickers_dropped": 0,
        "bars_masked": 0,
    }
    write_json(f.output(catalog.SUMMARY), summary)
    if failed:
        ticker, report = next(iter(failed.items()))
        named = dataclasses.replace(report, source=f"{ticker} (data/{ticker}.csv)")
        raise DataValidationError(named, f"Universe {name!r} refused at universe_validate: {', '.join(failed)} failed "
                                         "the data gate; nothing was trained or registered.")  # fmt: skip
    return summary


def _masked(f: catalog.StageFiles, params: Params, name: str, paths: dict) -> dict:
    """The mask policy: every bar checked at once, bad bars masked and named, unusable tickers dropped."""
    frames = {t: read_price_file(path) for t, path in paths.items()}
    v = params.validate_
    checked = bars.check(bars.long_frame(frames), v.max_abs_return, v.max_gap_days, v.min_rows, v.max_bad_share)
    write_csv(checked.findings, f.output(MASKED))
    report = {"policy": "mask", **checked.counts(), "by_rule": checked.by_rule(), "dropped": checked.dropped,
              "kept": list(checked.kept)}  # fmt: skip
    write_json(f.output("report.json"), report)
    f.output("report.md").write_text("\n".join([f"# Data validation: universe {name}", "",
                                                 *(f"- {line}" for line in checked.lines() or ["every bar passed"])])
                                     + "\n")  # fmt: skip
    summary = {
        "tickers": len(frames),
        "failed": len(checked.dropped),
        "close_only": sum(not {"Open", "High", "Low"} <= set(fr.columns) for fr in frames.values()),
        "rows": sum(len(fr) for fr in frames.values()),
        "warnings": int((checked.findings["action"] == bars.REPORTED).sum()),
        "tickers_dropped": len(checked.dropped),
        "bars_masked": checked.counts()["bars_masked"],
        "bars_volume_missing": checked.counts()["bars_volume_missing"],
    }
    write_json(f.output(catalog.SUMMARY), summary)
    if len(checked.kept) < 2:
        raise UniverseError(f"universe {name!r}: {len(checked.kept)} usable ticker(s) after the data gate ("
                            + "; ".join(f"{t}: {why}" for t, why in checked.dropped.items()) + ")")  # fmt: skip
    return summary


def _no_findings():
    import pandas as pd

    return pd.DataFrame(columns=["ticker", "date", "rule", "action"])


def masked_bars(f: catalog.StageFiles) -> tuple[object, list[str]]:
    """What the gate masked (its findings) and which tickers it kept, as universe_validate wrote them."""
    import pandas as pd

    findings = pd.read_csv(f.input(f"{STAGE.name}/{MASKED}"), parse_dates=["date"])
    report = read_json(f.input(f"{STAGE.name}/report.json"))
    return findings, report.get("kept")
