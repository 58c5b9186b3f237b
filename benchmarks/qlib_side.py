"""Run by the bench-only Qlib environment (`.venv-qlib`, never the product's): Qlib's own Alpha158 on a market
written in Qlib's binary layout, as one (dates, tickers, 158) float32 array in stockflow's order.

Usage: python qlib_side.py QLIB_DIR OUT.npy (prints the seconds D.features took). It imports nothing of stockflow.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np


def main(folder: str, out: str) -> None:
    import qlib
    from qlib.contrib.data.loader import Alpha158DL
    from qlib.data import D

    qlib.init(provider_uri=folder, region="us", kernels=1)
    meta = json.loads((Path(folder) / "grid.json").read_text())
    fields, names = Alpha158DL.get_feature_config()
    started = time.perf_counter()
    frame = D.features(D.instruments("all"), fields, meta["start"], meta["end"], freq="day")
    seconds = time.perf_counter() - started
    frame.columns = names
    dates = np.asarray(meta["dates"], dtype="datetime64[ns]")
    tickers = [t.lower() for t in meta["tickers"]]
    result = np.full((len(dates), len(tickers), len(meta["names"])), np.nan, dtype=np.float32)
    for j, ticker in enumerate(tickers):
        try:
            rows = frame.xs(ticker, level="instrument")
        except KeyError:
            rows = frame.xs(ticker.upper(), level="instrument")
        at = np.searchsorted(dates, rows.index.to_numpy(dtype="datetime64[ns]"))
        result[at, j, :] = rows[meta["names"]].to_numpy(dtype=np.float32)
    np.save(out, result)
    print(f"{seconds:.1f}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
