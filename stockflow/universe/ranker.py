"""A universe's trained model, its transform and its portfolio rules: every ticker's bars in, scores and tomorrow's
target weights out.

What the registered universe model does: given the rows of all its tickers (as one panel),
it scores every (date, ticker) that has a full window of history, each from that date's
bars and earlier ones only, and turns the scores into the portfolio's target weight for
the next session, following its own earlier holdings (TopkDropout: `stockflow/universe/portfolio.py`).

One artifact (`dump`, `load`): a zip of `ranker.json` (architecture, tickers, lookback,
label, the rules once chosen), `model` (the family's bytes) and `scaler.npz`.
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

from stockflow import archive, models
from stockflow.universe.panel import Panel, Scaler, Transform
from stockflow.universe.portfolio import Rules, last_targets

PREDICT_CHUNK = 65_536  # windows gathered and scored at a time: memory stays flat however long the history


@dataclass(frozen=True)
class Ranker:
    architecture: str
    model: Any
    transform: Transform
    tickers: tuple[str, ...]
    rules: Rules | None = None  # chosen on the validation window by the backtest stage

    @property
    def family(self) -> models.Family:
        return models.family(self.architecture)

    def scores(self, panel: Panel, min_date: int = 0) -> np.ndarray:
        """(T, N) scores of every (date, ticker) with a full window from date index `min_date` on; NaN elsewhere."""
        windows = self.transform.windows(panel, min_date)
        out = np.full(panel.close.shape, np.nan)
        for start in range(0, len(windows), PREDICT_CHUNK):
            part = slice(start, start + PREDICT_CHUNK)
            out[windows.date[part], windows.ticker[part]] = self.family.predict(self.model, windows.take(part))
        return out

    def rank(self, panel: Panel) -> pd.DataFrame:
        """date, ticker, score and weight (the target for the next session) for every scored (date, ticker)."""
        scores = self.scores(panel)
        days = np.flatnonzero(~np.isnan(scores).all(axis=1))
        weights = last_targets(panel, scores, days, self.rules) if self.rules is not None and len(days) else None
        date, ticker = np.nonzero(~np.isnan(scores))
        out = pd.DataFrame({"date": pd.to_datetime(panel.dates[date]), "ticker": np.asarray(panel.tickers)[ticker],
                            "score": scores[date, ticker]})  # fmt: skip
        out["weight"] = weights[date, ticker] if weights is not None else np.nan
        return out.sort_values(["date", "ticker"], kind="stable").reset_index(drop=True)


_MANIFEST, _MODEL, _SCALER = "ranker.json", "model", "scaler.npz"


def dump(ranker: Ranker) -> bytes:
    """The ranker as one zip, the same bytes for the same ranker."""
    scaler = io.BytesIO()
    np.savez(scaler, mean=ranker.transform.scaler.mean, std=ranker.transform.scaler.std)
    t = ranker.transform
    manifest = {"architecture": ranker.architecture, "tickers": list(ranker.tickers), "lookback": t.lookback,
                "label": t.label, "rules": None if ranker.rules is None else asdict(ranker.rules),
                **({} if t.features == "basic" else {"features": t.features, "clip": t.scaler.clip}),
                **({} if t.horizon == 1 else {"horizon": t.horizon})}  # fmt: skip
    return archive.pack(_MANIFEST, manifest, {_MODEL: ranker.family.dump(ranker.model), _SCALER: scaler.getvalue()})


def manifest(blob: bytes) -> dict[str, Any]:
    """What a dumped ranker says of itself (architecture, tickers, lookback, label, rules), without its model."""
    return archive.manifest(_MANIFEST, blob)


def load(blob: bytes) -> Ranker:
    """The ranker `dump` gave these bytes for."""
    meta, parts = archive.unpack(_MANIFEST, blob)
    model = models.family(meta["architecture"]).load(parts[_MODEL])
    with np.load(io.BytesIO(parts[_SCALER])) as s:
        scaler = Scaler(s["mean"], s["std"], meta.get("clip"))
    rules = Rules(**meta["rules"]) if meta["rules"] else None
    transform = Transform(int(meta["lookback"]), meta["label"], scaler, meta.get("features", "basic"),
                          int(meta.get("horizon", 1)))  # fmt: skip
    return Ranker(meta["architecture"], model, transform, tuple(meta["tickers"]), rules)
