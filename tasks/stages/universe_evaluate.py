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

from stockflow import models, ranking
from stockflow.config import Params
from stockflow.panel import PanelData, Windows
from tasks.services import catalog
from tasks.services.files import atomic, load_panel, save_figure, write_csv, write_json
from tasks.services.model_files import load_ranker
from tasks.services.workspace import Workspace

STAGE = "universe_evaluate"
SPLITS = {"val": "validation", "test": "test"}
BASELINES = ("reversal", "momentum", "ridge")


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Score the validation and test windows with the model and every baseline; daily ICs, their summaries."""
    from stockflow import plots

    f = catalog.files(STAGE, ws, name)
    data = load_panel(f.input("universe_preprocess/panel.npz"))
    ranker = load_ranker(f.input("universe_train/ranker.zip"))
    p = params.universe
    on_samples = _samples_mask(data)
    scores = {
        "model": _scores(data, lambda w: ranker.family.predict(ranker.model, w)),
        "reversal": np.where(on_samples, ranking.reversal(data.panel), np.nan),
        "momentum": np.where(on_samples, ranking.momentum(data.panel), np.nan),
        "ridge": _ridge(data, p.evaluate.ridge_samples, p.train.seed),
    }
    controls = []
    for i in range(p.evaluate.control_shuffles if p.evaluate.control else 0):
        # A network fitted to noise is a random function of features that do predict: its Rank IC is not 0 but
        # spread around it, with either sign. Several shuffles (and seeds) give that spread: the null band.
        seed = p.train.seed + i
        shuffled = dataclasses.replace(data, y=ranking.shuffled_within_days(data.y, seed))
        controls.append(_scores(data, _trained(shuffled, p.train.model_copy(update={"seed": seed}))))
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


def _samples_mask(data: PanelData) -> np.ndarray:
    """(T, N) True on the validation and test samples: every scorer is judged on the same cells."""
    mask = np.zeros(data.panel.close.shape, dtype=bool)
    for split in SPLITS:
        w = data.windows[split]
        mask[w.date, w.ticker] = True
    return mask


def _scores(data: PanelData, predict) -> np.ndarray:
    """(T, N) a scorer's values on the validation and test samples, NaN elsewhere."""
    out = np.full(data.panel.close.shape, np.nan)
    for split in SPLITS:
        w = data.windows[split]
        for start in range(0, len(w), 65_536):
            part = slice(start, start + 65_536)
            out[w.date[part], w.ticker[part]] = predict(w.take(part))
    return out


def _trained(data: PanelData, params):
    """The network of `params` trained on `data`'s training windows: its predict."""
    family = models.family(params.architecture)
    model, _ = family.fit_windows(data.windows["train"], data.labels_of("train"), data.windows["val"],
                                  data.labels_of("val"), params)  # fmt: skip
    return lambda windows: family.predict(model, windows)


def _ridge(data: PanelData, samples: int, seed: int) -> np.ndarray:
    """A ridge regression on the model's own (flattened) windows, fitted on up to `samples` training windows."""
    from sklearn.linear_model import Ridge

    train: Windows = data.windows["train"]
    which = np.sort(np.random.default_rng(seed).choice(len(train), min(samples, len(train)), replace=False))
    x = train.take(which).reshape(len(which), -1)
    model = Ridge(alpha=1.0).fit(x, data.y[train.date[which], train.ticker[which]])
    return _scores(data, lambda w: model.predict(w.reshape(len(w), -1)))


def _seed_spread(data: PanelData, p, outcome: np.ndarray) -> dict:
    """The test Rank IC of the network trained with seeds train.seed .. +seeds-1: each, their mean and spread."""
    runs = []
    for seed in range(p.train.seed, p.train.seed + p.evaluate.seeds):
        values = _scores(data, _trained(data, p.train.model_copy(update={"seed": seed})))
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
