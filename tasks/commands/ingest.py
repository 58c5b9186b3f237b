"""`stockflow ingest` and the drop folder: price files into data/, validated first, recorded as a DVC version.

A file that fails validation never becomes data: data/ and data.dvc stay exactly
as they were. Bars from the drop folder that fail are moved aside to
`<drop_folder>/rejected/` with their report, so later scheduled runs do not trip
over them again.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd

from stockflow.config import Params
from stockflow.data.prices import to_csv_text
from stockflow.data.validation import validate_prices
from stockflow.errors import DataValidationError, UsageError, check_ticker
from tasks import sources
from tasks.services import dvc_repo
from tasks.services.files import atomic, read_download, read_price_file
from tasks.services.workspace import Workspace, md5


def ingest(ws: Workspace, params: Params, source: str, ticker: str | None = None,
           notes: list[str] | None = None) -> list[Path]:  # fmt: skip
    """Validate each series of `source` (`tasks/sources/`) first, then write data/<ticker>.csv atomically and record
    the new data version; the files written.

    `ticker` names the one series of a source that holds one (default: the source's name for it). What was
    normalised to read the source is appended to `notes`, when given.
    """
    loaded = sources.load(source)
    if ticker is not None and len(loaded) != 1:
        raise UsageError(f"{source} holds {len(loaded)} series: --ticker names the one series of a source that "
                         "holds one")  # fmt: skip
    written = []
    for item in loaded:
        name = check_ticker(ticker) if ticker is not None else check_ticker(
            item.ticker, where=f"{Path(item.description).name!r} gives the ticker")  # fmt: skip
        if notes is not None:
            notes.extend(item.prices.notes)
        written.append(store(ws, params, item.prices.frame, name, item.description, item.prices.notes,
                             item.prices.adjusted_by))  # fmt: skip
    return written


def store(ws: Workspace, params: Params, frame: pd.DataFrame, ticker: str, description: str,
          notes: list[str] = (), adjusted_by: str | None = None) -> Path:  # fmt: skip
    """Validate `frame`; only if it passes, write it as data/<ticker>.csv and record it in data.dvc."""
    from tasks.stages.validate import suite_for

    suite = ws.load_suite(suite_for(params, frame.columns))
    report = validate_prices(frame, suite, params.validate_, source=description, adjusted_by=adjusted_by)
    report = dataclasses.replace(report, notes=[*notes, *report.notes])
    if not report.success:
        raise DataValidationError(report, "Refused: data/ and data.dvc are unchanged.")
    text = to_csv_text(frame)
    target = ws.project_data_file(ticker)
    if not (target.exists() and target.read_text() == text):
        with atomic(target) as f:
            f.write(text)
    dvc_repo.record_data(ws.root, {target.name: md5(target)})
    return target


def drop_files(folder: Path, ticker: str, known: set[str]) -> list[Path]:
    """The drop folder's files for `ticker`: `<ticker>.csv` or `<ticker>` followed by `-`, `_`, `.` or `@` and more.

    A file that would also fit a longer known ticker (`sp500` and `sp500-x`) goes to that one.
    """
    found = []
    for path in sorted(folder.glob("*.csv")) if folder.is_dir() else []:
        stem = path.stem
        fits = [t for t in known | {ticker} if stem == t or (stem.startswith(t) and stem[len(t)] in "-_.@")]
        if fits and max(fits, key=len) == ticker:
            found.append(path)
    return found


def take_new_bars(ws: Workspace, params: Params, ticker: str) -> dict:
    """Append the bars in the drop folder's files for `ticker` that are newer than data/<ticker>.csv.

    The extended series is validated as a whole before anything is written; the
    files taken are moved to <drop_folder>/taken/, refused ones to <drop_folder>/rejected/
    with a report beside them. Bars not newer than the last one held are ignored, so
    a re-run with nothing new changes nothing.
    """
    folder = ws.root / params.data.drop_folder
    known = {p.stem for p in (ws.root / "data").glob("*.csv")}
    files = drop_files(folder, check_ticker(ticker), known)
    current = read_price_file(ws.project_data_file(ticker))
    last = current["Date"].max()
    result = {"files": [f.name for f in files], "new_rows": 0, "last_date": str(last.date())}
    if not files:
        return result
    reads = {f.name: read_download(f) for f in files}
    result["normalised"] = {name: read.notes for name, read in reads.items() if read.notes}
    new = pd.concat([read.frame for read in reads.values()], ignore_index=True)
    new = new[new["Date"] > last].drop_duplicates("Date", keep="last").sort_values("Date")
    if not new.empty:
        merged = pd.concat([current, new[current.columns.intersection(new.columns)]], ignore_index=True)
        try:
            described = f"data/{ticker}.csv + {len(new)} new bars from {', '.join(result['files'])}"
            store(ws, params, merged, ticker, described, [n for ns in result["normalised"].values() for n in ns])
        except DataValidationError as exc:
            _move(files, folder / "rejected", report=exc.report.to_markdown())
            moved = ", ".join(result["files"])
            raise DataValidationError(
                exc.report,
                f"Refused: data/ and data.dvc are unchanged; {moved} moved to "
                f"{params.data.drop_folder}/rejected/ beside a report.",
            ) from None
    _move(files, folder / "taken")
    return {
        **result,
        "new_rows": len(new),
        "last_date": str(new["Date"].max().date()) if len(new) else result["last_date"],
    }


def _move(files: list[Path], to: Path, report: str | None = None) -> None:
    to.mkdir(parents=True, exist_ok=True)
    for f in files:
        f.replace(to / f.name)
        if report is not None:
            (to / f"{f.name}.report.md").write_text(report)
