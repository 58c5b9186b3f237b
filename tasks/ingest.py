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
    from tasks.validate import remember_valid_data

    frame, description = load_source(source)
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
