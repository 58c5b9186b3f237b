"""Stage `train`: fit the recurrent network on the training windows, watching the validation slice."""

from __future__ import annotations

import time

import pandas as pd

from stockflow.config import Params
from stockflow.model import build_model, fit, seed_everything
from tasks import tracking
from tasks.preprocess import load as load_dataset
from tasks.project import Project, read_json, write_json

STAGE = "train"
CURVES = ("loss", "val_loss", "mae", "val_mae")


def compute(project: Project, params: Params, ticker: str, progress: bool = True) -> dict:
    from tqdm.auto import tqdm

    data = load_dataset(project, ticker)
    seed_everything(params.train.seed)
    _, lookback, n_features = data.x["train"].shape
    model = build_model(lookback, n_features, params.train)
    bar = tqdm(total=params.train.epochs, desc=f"train {ticker}", unit="epoch", disable=not progress, leave=False)

    def on_epoch(epoch: int, logs: dict[str, float]) -> None:
        bar.update(1)
        bar.set_postfix(loss=f"{logs.get('loss', 0):.2e}", val_loss=f"{logs.get('val_loss', 0):.2e}")

    started = time.perf_counter()
    history = fit(model, data.x["train"], data.y["train"], data.x["val"], data.y["val"], params.train, on_epoch)
    seconds = time.perf_counter() - started
    bar.close()

    out = project.out_dir(ticker, STAGE)
    out.mkdir(parents=True, exist_ok=True)
    model.save(out / "model.keras")
    curves = pd.DataFrame(
        {"epoch": range(1, len(history["loss"]) + 1), **{k: history[k] for k in CURVES if k in history}}
    )
    curves.to_csv(out / "history.csv", index=False, lineterminator="\n")
    summary = {
        "epochs_run": len(curves),
        "final_loss": float(curves["loss"].iloc[-1]),
        "best_val_loss": float(curves["val_loss"].min()),
        "best_epoch": int(curves.loc[curves["val_loss"].idxmin(), "epoch"]),
        "seconds": round(seconds, 3),
        "train_samples": int(len(data.y["train"])),
        "parameters": int(model.count_params()),
    }
    write_json(project.metrics_file(ticker, STAGE), summary)
    return summary


def load_model(project: Project, ticker: str):
    import keras

    return keras.models.load_model(project.out_dir(ticker, STAGE) / "model.keras")


def record(project: Project, params: Params, ticker: str) -> None:
    import mlflow
    from mlflow.entities import Metric

    from stockflow import plots

    out = project.out_dir(ticker, STAGE)
    curves = pd.read_csv(out / "history.csv")
    now = int(time.time() * 1000)
    run_id = mlflow.active_run().info.run_id
    per_epoch = [
        Metric(name, float(row[name]), now, int(row["epoch"]))
        for _, row in curves.iterrows()
        for name in CURVES
        if name in curves
    ]
    client = mlflow.MlflowClient()
    for i in range(0, len(per_epoch), 1000):
        client.log_batch(run_id, metrics=per_epoch[i : i + 1000])
    tracking.log_stage_metrics(STAGE, read_json(project.metrics_file(ticker, STAGE)))
    tracking.log_figure(plots.loss_curves(curves), "plots/loss_curves.png")
    from tasks import preprocess, registry

    # The self-contained forecaster (raw bars in, next close out), registered later by `promote`.
    registry.log_forecaster(params, out / "model.keras", project.out_dir(ticker, preprocess.STAGE) / "transform.joblib")


def train(project: Project, params: Params, ticker: str, run_id: str, final: bool = False) -> dict:
    with tracking.stage_run(project, params, run_id, final=final):
        summary = compute(project, params, ticker)
        record(project, params, ticker)
    return summary
