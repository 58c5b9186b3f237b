"""`stockflow ingest`: bring a price file into data/, validated, and record it as a DVC version."""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

import pandas as pd

from stockflow.config import Params
from stockflow.prices import normalise, to_csv_text
from stockflow.validation import DataValidationError, validate_prices
from tasks.prices_io import read_price_file
from tasks.project import Project

SAMPLES = {
    "sp500": "S&P 500 daily OHLCV 1999-2018 (arch package)",
    "nasdaq": "NASDAQ Composite daily OHLCV 1999-2018 (arch package)",
}


def load_source(source: str) -> tuple[pd.DataFrame, str]:
    """`sample:sp500` / `sample:nasdaq` (real daily data shipped inside the `arch` package) or `csv:PATH`."""
    kind, _, arg = source.partition(":")
    if kind == "sample":
        if arg not in SAMPLES:
            raise ValueError(f"unknown sample {arg!r}; available: {', '.join(SAMPLES)}")
        import importlib

        return normalise(importlib.import_module(f"arch.data.{arg}").load()), SAMPLES[arg]
    if kind == "csv" and arg:
        return read_price_file(Path(arg)), arg
    raise ValueError(f"source {source!r} is not 'sample:NAME' or 'csv:PATH'")


def record_data_version(project: Project) -> None:
    """`dvc add data`: data.dvc now names what is in data/ and the cache holds it."""
    if not (project.root / ".dvc").exists():
        return
    out = subprocess.run([sys.executable, "-m", "dvc", "add", "data"], cwd=project.root, capture_output=True, text=True)
    if out.returncode != 0:
        raise RuntimeError(f"dvc add data failed: {out.stderr.strip() or out.stdout.strip()}")


def ingest(project: Project, params: Params, source: str, ticker: str) -> Path:
    """Validate first, then write data/<ticker>.csv atomically and record the new data version.

    A file that fails validation leaves data/ and data.dvc exactly as they were.
    """
    frame, description = load_source(source)
    return store(project, params, frame, ticker, description)


def store(project: Project, params: Params, frame: pd.DataFrame, ticker: str, description: str) -> Path:
    """Validate `frame`; only if it passes, write it as data/<ticker>.csv and record it in data.dvc."""
    from tasks.validate import remember_valid_data

    report = validate_prices(frame, project.load_suite(params.validate_.suite), params.validate_, source=description)
    if not report.success:
        raise DataValidationError(report)
    text = to_csv_text(frame)
    target = project.data_file(ticker)
    target.parent.mkdir(parents=True, exist_ok=True)
    if not (target.exists() and target.read_text() == text):
        with tempfile.NamedTemporaryFile("w", dir=target.parent, suffix=".tmp", delete=False, newline="") as tmp:
            tmp.write(text)
        Path(tmp.name).replace(target)
    record_data_version(project)
    remember_valid_data(project)
    return target


def take_new_bars(project: Project, params: Params, ticker: str) -> dict:
    """Append the bars in <drop_folder>/<ticker>*.csv that are newer than data/<ticker>.csv.

    The extended series is validated as a whole before anything is written; the
    files taken are then moved to <drop_folder>/taken/. Bars not newer than the
    last one held are ignored, so a re-run with nothing new changes nothing.
    """
    folder = project.root / params.data.drop_folder
    files = sorted(folder.glob(f"{ticker}*.csv")) if folder.is_dir() else []
    current = read_price_file(project.data_file(ticker))
    last = current["Date"].max()
    frames = [read_price_file(f) for f in files]
    new = pd.concat(frames, ignore_index=True) if frames else current.iloc[:0]
    new = new[new["Date"] > last].drop_duplicates("Date", keep="last").sort_values("Date")
    result = {"files": [f.name for f in files], "new_rows": len(new), "last_date": str(last.date())}
    if new.empty:
        return result
    merged = pd.concat([current, new[current.columns.intersection(new.columns)]], ignore_index=True)
    store(project, params, merged, ticker, f"data/{ticker}.csv + {len(new)} new bars from {', '.join(result['files'])}")
    taken = folder / "taken"
    taken.mkdir(exist_ok=True)
    for f in files:
        f.replace(taken / f.name)
    return {**result, "last_date": str(new["Date"].max().date())}
