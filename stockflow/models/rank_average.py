"""An average of several families' ranks: `rank_average`.

Each member (a family of this folder, with the train settings it differs by) is fitted on the same
windows. A member's score is turned into its rank among that member's own scores of the validation
windows (a quantile in 0..1, fixed when it was fitted, so a window's score never depends on what is
scored beside it), and the members' ranks are averaged: their scales differ, and where their errors
differ the average ranks better than either. Its settings are `train.options` (`Settings`): the
members, each an architecture and the train settings it differs by (epochs, patience, units, its own
options); the curves are the first member's.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from stockflow import archive, models

if TYPE_CHECKING:
    from stockflow.models.settings import TrainParams
    from stockflow.ticker.dataset import Dataset
    from stockflow.universe.panel import Windows

REFERENCE = 10_001  # a member's validation scores kept to rank by (quantiles of them when more)
CHUNK = 65_536


class Member(BaseModel):
    """One family of the average, and the train settings it differs by."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    architecture: str
    settings: dict[str, Any] = Field(default_factory=dict, description="e.g. {epochs: 1000, patience: 50}")

    @model_validator(mode="after")
    def _a_family(self) -> Member:
        family = models.family(self.architecture)  # ValueError naming the choices
        if self.architecture in RankAverage.names:
            raise ValueError("a rank average's member cannot be a rank average")
        if family.Settings is not None:
            family.Settings.model_validate(self.settings.get("options", {}))
        return self


class Settings(BaseModel):
    """`train.options` for `rank_average`: LightGBM (Qlib's parameters) and a ridge, by default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    members: tuple[Member, ...] = Field(
        default_factory=lambda: (Member(architecture="lgbm", settings={"epochs": 1000, "patience": 50}),
                                 Member(architecture="linear")),
        min_length=2,
    )  # fmt: skip


class RankAverage:
    """The average of its members' ranks as a model family: `train.architecture: rank_average`."""

    names = ("rank_average",)
    Settings = Settings

    @property
    def requirements(self) -> tuple[str, ...]:  # any family may be a member: what every other one needs
        needed = [r for f in models.families().values() if f is not self for r in f.requirements]
        return tuple(dict.fromkeys(needed))

    def fit(self, data: Dataset, params: TrainParams, on_epoch: models.EpochCallback | None = None):
        return self._fit(lambda family, p, hook: family.fit(data, p, hook), data.x["val"], params, on_epoch)

    def fit_windows(self, train: Windows, y_train: np.ndarray, val: Windows, y_val: np.ndarray, params: TrainParams,
                    on_epoch: models.EpochCallback | None = None):  # fmt: skip
        fit = lambda family, p, hook: family.fit_windows(train, y_train, val, y_val, p, hook)  # noqa: E731
        return self._fit(fit, val, params, on_epoch)

    def _fit(self, fit, val, params: TrainParams, on_epoch):
        members, history = [], None
        for i, member in enumerate(Settings.model_validate(params.options).members):
            family = models.family(member.architecture)
            settings = {"options": {}, **member.settings, "architecture": member.architecture}
            model, curves = fit(family, params.model_copy(update=settings), on_epoch if i == 0 else None)
            scores = np.concatenate([family.predict(model, _rows(val, s)) for s in range(0, len(val), CHUNK)])
            reference = _reference(scores)
            members.append((member.architecture, model, reference))
            history = history or curves
        return members, history

    def predict(self, model: Any, windows: np.ndarray) -> np.ndarray:
        ranks = [_rank(models.family(arch).predict(m, windows), reference) for arch, m, reference in model]
        return np.mean(ranks, axis=0)

    def dump(self, model: Any) -> bytes:
        parts = {}
        for i, (arch, m, reference) in enumerate(model):
            buffer = io.BytesIO()
            np.save(buffer, reference)
            parts |= {f"member{i}": models.family(arch).dump(m), f"reference{i}.npy": buffer.getvalue()}
        return archive.pack("rank_average.json", {"members": [arch for arch, _, _ in model]}, parts)

    def load(self, blob: bytes) -> Any:
        meta, parts = archive.unpack("rank_average.json", blob)
        load = lambda i, arch: models.family(arch).load(parts[f"member{i}"])  # noqa: E731
        return [(arch, load(i, arch), np.load(io.BytesIO(parts[f"reference{i}.npy"])))
                for i, arch in enumerate(meta["members"])]  # fmt: skip

    def size(self, model: Any) -> int:
        return sum(models.family(arch).size(m) for arch, m, _ in model)


def _rows(val, start: int) -> np.ndarray:
    """A chunk of the validation windows: a universe's gathered now, a ticker's already an array."""
    part = slice(start, start + CHUNK)
    return val[part] if isinstance(val, np.ndarray) else val.take(part)


def _reference(scores: np.ndarray) -> np.ndarray:
    """What a member's scores are ranked among: its validation scores sorted, or REFERENCE quantiles of many."""
    if len(scores) <= REFERENCE:
        return np.sort(scores) if len(scores) else np.zeros(1)
    return np.quantile(scores, np.linspace(0, 1, REFERENCE))


def _rank(scores: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """Each score's quantile among the reference scores (ties at the middle)."""
    low, high = np.searchsorted(reference, scores, "left"), np.searchsorted(reference, scores, "right")
    return (low + high) / (2.0 * len(reference))


FAMILY = RankAverage()
