"""Stage `universe_evaluate`: the universe's scores judged as the field judges them, beside naive baselines.

On the validation and test windows, per day: the IC and Rank IC of the model's scores with
what they are labelled by (the fill-to-fill return over the horizon), and of short-term
reversal, 12-1 momentum, a ridge on the model's own windows and networks trained on labels
shuffled within each day (the null band: `universe.evaluate.control_shuffles` of them), each on
the same (date, ticker) samples as the model. With
`universe.evaluate.seeds` > 1 the network is trained again with other seeds (the spread of
its test Rank IC). The scores go to the backtest stage; nothing here is chosen on the test
window.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from stockflow.config import Params
from stockflow.universe import ranking
from stockflow.universe.panel import PanelData
from tasks.services import catalog
from tasks.services.files import atomic, load_panel, save_figure, write_csv, write_json
from tasks.services.model_files import load_ranker
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "universe_evaluate",
    "daily IC and Rank IC on the test window of the model beside reversal, momentum, a ridge on the same inputs "
    "and a network trained on shuffled labels",
    reads=("universe_preprocess/panel.npz", "universe_train/ranker.zip"),
    writes=("scores.npz", "ic.csv", "cumulative_ic.png", catalog.SUMMARY),
    params=("universes", "preset", "presets", "universe.preprocess", "universe.train", "universe.evaluate"),
    logged=("ic.csv", "cumulative_ic.png"),
    trains=True,  # the control on shuffled labels and the seeds
)
SPLITS = {"val": "validation", "test": "test"}
BASELINES = ("reversal", "momentum", "ridge")


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Score the validation and test windows with the model and every baseline; daily ICs, their summaries."""
    from stockflow.reporting import plots

    f = catalog.files(STAGE, ws, name)
    data = load_panel(f.input("universe_preprocess/panel.npz"))
    ranker = load_ranker(f.input("universe_train/ranker.zip"))
    p = params.universe
    scores = {
        "model": ranking.scored(data, lambda w: ranker.family.predict(ranker.model, w)),
        **ranking.naive(data),
        "ridge": ranking.ridge(data, p.evaluate.ridge_samples, p.train.seed),
    }
    controls = []
    for i in range(p.evaluate.control_shuffles if p.evaluate.control else 0):
        # A network fitted to noise is a random function of features that do predict: its Rank IC is not 0 but
        # spread around it, with either sign. Several shuffles (and seeds) give that spread: the null band.
        seed = p.train.seed + i
        shuffled = dataclasses.replace(data, y=ranking.shuffled_within_days(data.y, seed))
        controls.append(ranking.scored(data, ranking.trained(shuffled, p.train.model_copy(update={"seed": seed}))[1]))
    if controls:
        scores["shuffled_labels"] = controls[0]
    outcome = data.panel.outcome(data.transform.horizon)  # what the labels are: the fill-to-fill return
    tables, report = [], {"validation": {}, "test": {}}
    for split, label in SPLITS.items():
        for scorer, values in scores.items():
            ic = ranking.daily_ic(values, outcome, data.split_days[split], data.panel.dates)
            report[label][scorer] = ranking.scorecard(ic)
            tables.append(ic.assign(split=label, scorer=scorer))
    baselines = [b for b in BASELINES if b in scores]
    report["best_baseline"] = max(baselines, key=lambda b: _mean(report["validation"][b]["rank_ic"]))
    report["test_days"] = int(len(data.split_days["test"]))
    if controls:
        report["null_band"] = _null_band(controls, report["test"]["model"]["rank_ic"]["mean"], data, outcome)
    if p.evaluate.seeds > 1:
        report["seeds"] = _seed_spread(data, p, outcome)
    with atomic(f.output("scores.npz"), "wb") as out:
        np.savez(out, **scores)
    table = pd.concat(tables, ignore_index=True)[["split", "scorer", "date", "ic", "rank_ic", "names"]]
    write_csv(table, f.output("ic.csv"), float_format="%.6g")
    test = table[table["split"] == "test"]
    save_figure(plots.cumulative_ic(test, f"{name}: cumulative Rank IC on the test window"),
                f.output("cumulative_ic.png"))  # fmt: skip
    write_json(f.output(catalog.SUMMARY), report)
    return report


def _mean(card: dict) -> float:
    return card["mean"] if card["mean"] == card["mean"] else -np.inf


def _seed_spread(data: PanelData, p, outcome: np.ndarray) -> dict:
    """The test Rank IC of the network trained with seeds train.seed .. +seeds-1: each, their mean and spread."""
    runs = []
    for seed in range(p.train.seed, p.train.seed + p.evaluate.seeds):
        values = ranking.scored(data, ranking.trained(data, p.train.model_copy(update={"seed": seed}))[1])
        card = ranking.scorecard(ranking.daily_ic(values, outcome, data.split_days["test"], data.panel.dates))
        runs.append({"seed": seed, "rank_ic": card["rank_ic"]["mean"], "ic": card["ic"]["mean"]})
    values = np.array([r["rank_ic"] for r in runs])
    return {"runs": runs, "rank_ic_mean": float(values.mean()), "rank_ic_std": float(values.std(ddof=1))}


def _null_band(controls: list[np.ndarray], model: float | None, data: PanelData, outcome: np.ndarray) -> dict:
    """The test Rank IC of each shuffled-label network, their range, and where the model's stands in it."""
    days = data.split_days["test"]
    runs = [ranking.scorecard(ranking.daily_ic(c, outcome, days, data.panel.dates))["rank_ic"]["mean"]
            for c in controls]  # fmt: skip
    known = [r for r in runs if r is not None and r == r]
    low, high = (min(known), max(known)) if known else (None, None)
    where = "unknown" if model is None or low is None else (
        "above" if model > high else "below" if model < low else "inside")  # fmt: skip
    return {"runs": runs, "low": low, "high": high, "model": model, "model_is": where}
