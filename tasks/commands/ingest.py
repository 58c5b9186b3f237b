"""`stockflow ingest` and the drop folder: price files into data/, validated first, recorded as a DVC version.

A file that fails validation never becomes data: data/ and data.dvc stay exactly
as they were. Bars from the drop folder that fail are moved aside to
`<drop_folder>/rejected/` with their report, so later scheduled runs do not trip
over them again.
"""

from __future__ import annotations

import dataclasses
import importlib
from pathlib import Path

import pandas as pd

from stockflow.config import Params
from stockflow.errors import DataValidationError, UsageError, check_ticker
from stockflow.formats import Normalised
from stockflow.prices import normalise, to_csv_text
from stockflow.validation import validate_prices
from tasks.services import dvc_repo
from tasks.services.files import atomic, read_download, read_price_file
from tasks.services.workspace import Workspace, md5

SAMPLES = {
    "sp500": "S&P 500 daily OHLCV 1999-2018 (arch package)",
    "nasdaq": "NASDAQ Composite daily OHLCV 1999-2018 (arch package)",
}


def load_source(source: str) -> tuple[Normalised, str]:
    """`sample:sp500` / `sample:nasdaq` (real daily data shipped inside the `arch` package) or `csv:PATH`.

    The prices and what was normalised to read them (see `stockflow.formats`), and a description.
    """
    kind, _, arg = source.partition(":")
    if kind == "sample":
        if arg not in SAMPLES:
            raise UsageError(f"unknown sample {arg!r}; available: {', '.join(SAMPLES)}")
        return Normalised(normalise(importlib.import_module(f"arch.data.{arg}").load())), SAMPLES[arg]
    if kind == "csv" and arg:
        return read_download(Path(arg)), arg
    raise UsageError(f"source {source!r} is not 'sample:NAME' or 'csv:PATH'")


def default_ticker(source: str) -> str:
    """The ticker a source is stored under when none is given: the sample's name or the file's stem."""
    kind, _, arg = source.partition(":")
    if kind == "sample":
        return arg
    return check_ticker(Path(arg).stem, where=f"{Path(arg).name!r} gives the ticker")


def ingest(ws: Workspace, params: Params, source: str, ticker: str, notes: list[str] | None = None) -> Path:
    """Validate first, then write data/<ticker>.csv atomically and record the new data version.

    What was normalised to read the source is appended to `notes`, when given.
    """
    check_ticker(ticker)
    read, description = load_source(source)
    if notes is not None:
        notes.extend(read.notes)
    return store(ws, params, read.frame, ticker, description, read.notes)


def store(ws: Workspace, params: Params, frame: pd.DataFrame, ticker: str, description: str,
          notes: list[str] = ()) -> Path:  # fmt: skip
    """Validate `frame`; only if it passes, write it as data/<ticker>.csv and record it in data.dvc."""
    report = validate_prices(frame, ws.load_suite(params.validate_.suite), params.validate_, source=description)
    report = dataclasses.replace(report, notes=list(notes))
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
