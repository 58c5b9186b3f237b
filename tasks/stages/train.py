"""Stage `train`: fit the model (any family of stockflow/models/) on the training windows, watching the validation
windows; the forecaster it makes is written as one file."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd

from stockflow.config import Params, TrainParams
from stockflow.ticker.forecaster import fit_forecaster
from tasks.services import catalog
from tasks.services.files import load_dataset, save_figure, write_csv, write_json
from tasks.services.model_files import save_forecaster
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "train",
    "the model (train.architecture), seeded and deterministic, early-stopped on the validation windows",
    reads=("preprocess/dataset.npz", "preprocess/transform.joblib"),
    writes=("forecaster.zip", "history.csv", "loss_curves.png", catalog.SUMMARY),
    params=("preset", "presets", "preprocess", "train"),
    logged=("history.csv", "loss_curves.png"),
    trains=True,
    shows_progress=True,
)
CURVES = ("loss", "val_loss", "mae", "val_mae")


def compute(ws: Workspace, params: Params, ticker: str, progress: bool = True) -> dict:
    """Train the model (seeded) and choose its shrink factor; save the forecaster with its per-epoch history and
    loss curves.

    Its outputs are the same bytes for the same inputs (DVC compares bytes): how long it took is the execution's
    to record (`time/train_s`), not a result.
    """
    f = catalog.files(STAGE, ws, ticker)
    data = load_dataset(f.input("preprocess/dataset.npz"), f.input("preprocess/transform.joblib"))
    forecaster, history = showing_progress(lambda on_epoch: fit_forecaster(data, params.train, on_epoch),
                                           f"train {ticker}", params.train.epochs, progress)  # fmt: skip
    save_forecaster(forecaster, f.output("forecaster.zip"))
    summary = {
        **write_curves(f, history, params.train),
        "train_samples": int(len(data.y["train"])),
        "parameters": forecaster.family.size(forecaster.model),
        "shrink": forecaster.shrink,  # the predicted move's factor, chosen on the validation window (1: off)
    }
    write_json(f.output(catalog.SUMMARY), summary)
    return summary


def showing_progress(fit: Callable[[Callable], Any], label: str, epochs: int, progress: bool) -> Any:
    """`fit(on_epoch)`, with a progress bar of its epochs on the terminal when `progress`."""
    from tqdm.auto import tqdm

    bar = tqdm(total=epochs, desc=label, unit="epoch", disable=not progress, leave=False)

    def on_epoch(epoch: int, logs: dict[str, float]) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{logs.get('loss', 0):.2e}", val_loss=f"{logs.get('val_loss', 0):.2e}")

    try:
        return fit(on_epoch)
    finally:
        bar.close()


def write_curves(f: catalog.StageFiles, history: dict[str, list[float]], params: TrainParams) -> dict:
    """The per-epoch losses as `history.csv` and `loss_curves.png`; what they say, for the stage's summary."""
    from stockflow.reporting import plots

    curves = pd.DataFrame(
        {"epoch": range(1, len(history["loss"]) + 1), **{k: history[k] for k in CURVES if k in history}}
    )
    write_csv(curves, f.output("history.csv"), float_format="%.8g")
    best = int(curves.loc[curves["val_loss"].idxmin(), "epoch"])
    save_figure(plots.loss_curves(curves, best if params.patience else None), f.output("loss_curves.png"))
    return {
        "epochs_run": len(curves),
        "best_epoch": best,
        "stopped_early": bool(len(curves) < params.epochs),
        "final_loss": float(curves["loss"].iloc[-1]),
        "best_val_loss": float(curves["val_loss"].min()),
    }
