"""`panel:PATH`: one long file of many tickers (csv, csv.gz or parquet), `date,ticker,open,high,low,close,volume`
as Kaggle's "all stocks" sets and most exports have it; each ticker is stored under its own name."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stockflow.data.formats import canonical_long
from stockflow.errors import PriceFileError
from tasks.sources import Market


class PanelFile:
    kind = "panel"
    help = "panel:PATH (one long csv, csv.gz or parquet file: date, ticker and OHLCV columns; every ticker stored)"
    adjusted = False  # unknown: a panel says nothing of how it was adjusted (--adjusted says it was)

    def market(self, arg: str, tickers: set[str] | None = None) -> Market:
        path = Path(arg)
        if not path.is_file():
            raise PriceFileError(f"{path}: file not found")
        try:
            raw = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, low_memory=False)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, OSError, ValueError) as exc:
            raise PriceFileError(f"{path}: not a readable table ({str(exc).strip().splitlines()[-1]})") from None
        read = canonical_long(raw, str(path))
        long = read.frame if tickers is None else read.frame[read.frame["Ticker"].isin(tickers)].reset_index(drop=True)
        return Market(long, str(path), self.adjusted, read.notes)


SOURCE = PanelFile()
