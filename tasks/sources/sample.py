"""`sample:NAME`: real daily OHLCV shipped inside the `arch` package (works offline)."""

from __future__ import annotations

import importlib

from stockflow.data.formats import Normalised
from stockflow.data.prices import normalise
from tasks.sources import Loaded, known

SAMPLES = {
    "sp500": "S&P 500 daily OHLCV 1999-2018 (arch package)",
    "nasdaq": "NASDAQ Composite daily OHLCV 1999-2018 (arch package)",
}


class Sample:
    kind = "sample"
    help = "sample:sp500 or sample:nasdaq (embedded real data)"

    def load(self, arg: str) -> list[Loaded]:
        frame = normalise(importlib.import_module(f"arch.data.{known(arg, SAMPLES, 'sample')}").load())
        return [Loaded(arg, Normalised(frame), SAMPLES[arg])]


SOURCE = Sample()
