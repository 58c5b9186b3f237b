"""The forecaster's one file (`stockflow/forecaster.py`), saved and loaded by the stages, the registry and serving.

Within one process, a file's bytes give back the very forecaster saved or loaded with them: the evaluate stage
that follows a train stage in the same process (a flow, a watchlist worker) gets the model it trained, with the
prediction graphs TensorFlow has already traced for it (about 1 s a run), instead of rebuilding it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from pathlib import Path

from stockflow.forecaster import Forecaster, dump, load
from tasks.services.files import atomic

_FORECASTERS: OrderedDict[str, Forecaster] = OrderedDict()
_KEPT = 4


def _remember(digest: str, forecaster: Forecaster) -> None:
    _FORECASTERS[digest] = forecaster
    while len(_FORECASTERS) > _KEPT:
        _FORECASTERS.popitem(last=False)


def save_forecaster(forecaster: Forecaster, path: Path) -> None:
    """The forecaster as one file (`stockflow.forecaster.dump`: the same bytes for the same forecaster), atomically."""
    blob = dump(forecaster)
    with atomic(path, "wb") as f:
        f.write(blob)
    _remember(hashlib.md5(blob).hexdigest(), forecaster)


def load_forecaster(path: Path) -> Forecaster:
    """A forecaster saved by `save_forecaster` (the same object, when this process saved or loaded these bytes)."""
    blob = Path(path).read_bytes()
    digest = hashlib.md5(blob).hexdigest()
    if digest not in _FORECASTERS:
        _remember(digest, load(blob))
    return _FORECASTERS[digest]
