"""Stage `preprocess`: split, fit scalers on training rows, build lookback windows."""

from __future__ import annotations

from stockflow.config import Params
from stockflow.ticker.dataset import make_dataset
from tasks.services import catalog
from tasks.services.files import read_price_file, save_dataset, write_json
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "preprocess",
    "80/20 chronological split, scalers fitted on training rows only, lookback windows",
    reads=(catalog.DATA, "validate/report.json"),
    writes=("dataset.npz", "transform.joblib", catalog.SUMMARY),
    params=("preset", "presets", "preprocess"),
)


def compute(ws: Workspace, params: Params, ticker: str) -> dict:
    """Split, scale (fitted on training rows) and window the price file; save the dataset and transform."""
    f = catalog.files(STAGE, ws, ticker)
    prices = read_price_file(f.input(catalog.DATA))
    data = make_dataset(prices, params.preprocess)
    save_dataset(data, f.output("dataset.npz"), f.output("transform.joblib"))
    summary = {
        **{f"{split}_samples": n for split, n in data.sizes().items()},
        "features": len(params.preprocess.features),
        "lookback": params.preprocess.lookback,
        # The windows as decision days, and the data's last bar: the monitor's live days come after it.
        "train_start": str(data.dates["train"][0])[:10],
        "train_end": str(data.dates["train"][-1])[:10],
        "test_start": str(data.dates["test"][0])[:10],
        "test_end": str(data.dates["test"][-1])[:10],
        "data_through": str(prices["Date"].iloc[-1].date()),
    }
    write_json(f.output(catalog.SUMMARY), summary)
    return summary
