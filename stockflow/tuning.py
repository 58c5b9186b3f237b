"""What a trial of a study does, chosen on the validation window only: settings suggested from the search space,
the model trained on the training window, and the figure the study optimises read on the validation window.

A ticker's objective is the validation loss (the lowest per-epoch MSE on the validation
windows, minimised); a universe's, the validation window's mean daily Rank IC (maximised).
The test window is never read here: it is computed (the split needs it) and left alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from stockflow import models
from stockflow.config import Dimension, Params
from stockflow.ticker import evaluation
from stockflow.ticker.dataset import make_dataset
from stockflow.universe import panel, ranking


def suggest(trial: Any, space: Mapping[str, Dimension]) -> dict[str, Any]:
    """One value per dimension, from an Optuna trial (TPE samples them, given the trials before)."""
    values: dict[str, Any] = {}
    for key, d in space.items():
        if d.type == "categorical":
            values[key] = trial.suggest_categorical(key, list(d.choices))
        elif d.type == "int":
            values[key] = trial.suggest_int(key, int(d.low), int(d.high), step=int(d.step or 1), log=d.log)
        else:
            values[key] = trial.suggest_float(key, d.low, d.high, step=d.step, log=d.log)
    return values


def incumbent(params: Params, space: Mapping[str, Dimension]) -> dict[str, Any]:
    """The current settings of the dimensions whose range holds them: what a study's first trial tries."""
    flat = params.flat()
    held = {}
    for key, d in space.items():
        value = flat[key]
        if d.type == "categorical":
            inside = value in d.choices
        else:
            on_step = float((value - d.low) / d.step).is_integer() if d.step else True
            inside = d.low <= value <= d.high and on_step and (d.type == "float" or value == int(value))
        if inside:
            held[key] = value
    return held


def as_overrides(values: Mapping[str, Any]) -> list[str]:
    """`key=value` for each setting, as `--set` takes them."""
    return [f"{key}={json.dumps(value)}" for key, value in values.items()]


def as_preset(values: Mapping[str, Any]) -> dict[str, Any]:
    """The settings as a preset (nested sections), to write under `presets` in params.yaml."""
    preset: dict[str, Any] = {}
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = preset
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value.item() if hasattr(value, "item") else value
    return preset


def signature(space: Mapping[str, Dimension]) -> str:
    """A short digest of a search space: a study resumed or joined with another space is refused."""
    text = json.dumps({k: d.model_dump(mode="json") for k, d in sorted(space.items())}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def ticker_objective(prices: pd.DataFrame, params: Params, on_epoch: Any = None) -> tuple[float, dict]:
    """The validation loss of the model `params` makes on `prices` (the model training returns, as its run's
    evaluate stage scores it), and its history."""
    data = make_dataset(prices, params.preprocess)
    family = models.family(params.train.architecture)
    model, history = family.fit(data, params.train, on_epoch)
    return evaluation.network_losses(data, family, model)["val_loss"], history


def universe_objective(frames: Mapping[str, pd.DataFrame], params: Params, on_epoch: Any = None) -> tuple[float, dict]:
    """The validation window's mean daily Rank IC of the network `params` makes on the universe, and its history."""
    p, t = params.universe.preprocess, params.universe.train
    data = panel.make_panel_data(
        panel.align(frames),
        p.lookback,
        p.label,
        p.test_fraction,
        p.val_fraction,
        p.features,
        p.horizon,
        None if p.val_start is None else (p.val_start, p.test_start),
    )
    family = models.family(t.architecture)
    model, history = ranking.fit(family, data, t, on_epoch)
    w = data.windows["val"]
    scores = ranking.scores_frame(family.predict(model, w.take(slice(None))), w.date, w.ticker, data.panel.close.shape)
    ic = ranking.daily_ic(scores, data.panel.outcome(p.horizon), data.split_days["val"], data.panel.dates)
    return float(ranking.summary(ic["rank_ic"])["mean"]), history
