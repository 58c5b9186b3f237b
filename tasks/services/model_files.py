"""The trained models' files, saved and loaded by the stages, the registry and serving: a ticker's forecaster
(`stockflow/ticker/forecaster.py`) and a universe's ranker (`stockflow/universe/ranker.py`), one file each.

Within one process, a file's bytes give back the very object saved or loaded with them: the evaluate stage
that follows a train stage in the same process (a flow, a watchlist worker) gets the model it trained, with the
prediction graphs TensorFlow has already traced for it (about 1 s a run), instead of rebuilding it.
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from tasks.services.files import atomic

if TYPE_CHECKING:
    from stockflow.ticker.forecaster import Forecaster
    from stockflow.universe.ranker import Ranker

_KEPT: OrderedDict[str, Any] = OrderedDict()
_KEEP = 4


def _remember(digest: str, model: Any) -> None:
    _KEPT[digest] = model
    while len(_KEPT) > _KEEP:
        _KEPT.popitem(last=False)


def _save(model: Any, path: Path, dump: Callable[[Any], bytes]) -> None:
    blob = dump(model)
    with atomic(path, "wb") as f:
        f.write(blob)
    _remember(hashlib.md5(blob).hexdigest(), model)


def _load(path: Path, load: Callable[[bytes], Any]) -> Any:
    blob = Path(path).read_bytes()
    digest = hashlib.md5(blob).hexdigest()
    if digest not in _KEPT:
        _remember(digest, load(blob))
    return _KEPT[digest]


def save_forecaster(forecaster: Forecaster, path: Path) -> None:
    """The forecaster as one file (the same bytes for the same forecaster), atomically."""
    from stockflow.ticker.forecaster import dump

    _save(forecaster, path, dump)


def load_forecaster(path: Path) -> Forecaster:
    """A forecaster saved by `save_forecaster` (the same object, when this process saved or loaded these bytes)."""
    from stockflow.ticker.forecaster import load

    return _load(path, load)


def save_ranker(ranker: Ranker, path: Path) -> None:
    """The ranker as one file (the same bytes for the same ranker), atomically."""
    from stockflow.universe.ranker import dump

    _save(ranker, path, dump)


def load_ranker(path: Path) -> Ranker:
    """A ranker saved by `save_ranker` (the same object, when this process saved or loaded these bytes)."""
    from stockflow.universe.ranker import load

    return _load(path, load)
