"""Stage `preprocess`: split, fit scalers on training rows, build lookback windows."""

from __future__ import annotations

import joblib
import numpy as np

from stockflow.config import Params
from stockflow.dataset import SPLITS, Dataset, Transform, make_dataset
from tasks import tracking
from tasks.prices_io import read_price_file
from tasks.project import Project, read_json, write_json

STAGE = "preprocess"


def compute(project: Project, params: Params, ticker: str) -> dict:
    prices = read_price_file(project.data_file(ticker))
    data = make_dataset(prices, params.preprocess)
    out = project.out_dir(ticker, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    arrays = {
        f"{key}_{split}": getattr(data, key)[split]
        for key in ("x", "y", "dates", "close", "next_close")
        for split in SPLITS
    }
    np.savez(out / "dataset.npz", **arrays)
    joblib.dump(data.transform, out / "transform.joblib")
    summary = {
        **{f"{split}_samples": n for split, n in data.sizes().items()},
        "features": len(params.preprocess.features),
        "lookback": params.preprocess.lookback,
        "test_start": str(data.dates["test"][0])[:10],
        "test_end": str(data.dates["test"][-1])[:10],
    }
    write_json(project.metrics_file(ticker, STAGE), summary)
    return summary


def load(project: Project, ticker: str) -> Dataset:
    out = project.out_dir(ticker, STAGE)
    with np.load(out / "dataset.npz", allow_pickle=False) as npz:
        parts = {
            key: {split: npz[f"{key}_{split}"] for split in SPLITS}
            for key in ("x", "y", "dates", "close", "next_close")
        }
    transform: Transform = joblib.load(out / "transform.joblib")
    return Dataset(**parts, transform=transform)


def record(project: Project, params: Params, ticker: str) -> None:
    tracking.log_stage_metrics(STAGE, read_json(project.metrics_file(ticker, STAGE)))


def preprocess(project: Project, params: Params, ticker: str, run_id: str, final: bool = False) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        summary = compute(project, params, ticker)
        record(project, params, ticker)
    return summary
