"""Reading price files, with a clear error for a file that is not a price CSV at all."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stockflow.prices import normalise


class PriceFileError(Exception):
    """The file cannot be read as a CSV of prices (missing, empty, binary, wrong separator)."""


def read_price_file(path: Path | str) -> pd.DataFrame:
    """Read a Yahoo-style daily CSV; dates parsed, columns in canonical order.

    Content problems (bad values, missing columns) are left for the validation
    gate; only files that cannot be parsed as a comma-separated table raise.
    """
    path = Path(path)
    if not path.exists():
        raise PriceFileError(f"{path}: file not found")
    if path.is_dir():
        raise PriceFileError(f"{path}: is a folder, not a CSV file")
    head = path.read_bytes()[:4096]
    if not head.strip():
        raise PriceFileError(f"{path}: file is empty")
    if b"\x00" in head:
        raise PriceFileError(f"{path}: looks binary, not a CSV text file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise PriceFileError(f"{path}: is not UTF-8 text") from None
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[-1]})") from None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for sep in (";", "\t", "|"):
            if sep in header:
                raise PriceFileError(
                    f"{path}: columns are separated by {sep!r}, expected ',' (header: {header[:60]!r})"
                )
        raise PriceFileError(f"{path}: only one column ({header[:40]!r}); expected Date,Open,High,Low,Close,...")
    # A missing Date column is left for the gate, which reports it by name.
    return normalise(frame.rename(columns={c: "Date" for c in frame.columns if str(c).lower() == "date"}))
