"""Stage `universe_train`: one network across the universe, trained on the windows of every ticker pooled (gathered
batch by batch, never all at once), watching the validation dates; the ranker it makes is written as one file."""

from __future__ import annotations

from stockflow import models
from stockflow.config import Params
from stockflow.universe import ranking
from stockflow.universe.ranker import Ranker
from tasks.services import catalog
from tasks.services.files import load_panel, write_json
from tasks.services.model_files import save_ranker
from tasks.services.workspace import Workspace
from tasks.stages.train import showing_progress, write_curves

STAGE = catalog.Stage(
    "universe_train",
    "one network trained on the windows of every ticker pooled, gathered batch by batch",
    reads=("universe_preprocess/panel.npz",),
    writes=("ranker.zip", "history.csv", "loss_curves.png", catalog.SUMMARY),
    params=("universes", "preset", "presets", "universe.preprocess", "universe.train"),
    logged=("history.csv", "loss_curves.png"),
    trains=True,
    shows_progress=True,
)


def compute(ws: Workspace, params: Params, name: str, progress: bool = True) -> dict:
    """Train the network (seeded) on the panel's training windows; save the ranker, its history and loss curves."""
    f = catalog.files(STAGE, ws, name)
    data = load_panel(f.input("universe_preprocess/panel.npz"))
    p = params.universe.train
    family = models.family(p.architecture)
    model, history = showing_progress(
        lambda on_epoch: ranking.fit(family, data, p, on_epoch),
        f"train {name}", p.epochs, progress,
    )  # fmt: skip
    save_ranker(Ranker(p.architecture, model, data.transform, data.panel.tickers), f.output("ranker.zip"))
    summary = {
        **write_curves(f, history, p),
        "train_samples": len(data.windows["train"]),
        "parameters": family.size(model),
    }
    write_json(f.output(catalog.SUMMARY), summary)
    return summary
