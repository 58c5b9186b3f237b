"""The kinds of subject a run can be of, each one module implementing `Kind` (tasks/kinds/base.py).

`ticker` (one stock's forecaster and strategies) and `universe` (a named list of stocks ranked
each day, a portfolio on the ranks). A third kind (a pair trade, a sector) is a module here that
declares its stages and implements the interface, and one line in `KINDS` (docs/architecture.md).
"""

from __future__ import annotations

from collections.abc import Callable

from tasks.kinds.base import Kind, Study, Subject
from tasks.kinds.ticker import TICKER
from tasks.kinds.universe import UNIVERSE
from tasks.services.catalog import DATA, SUITE, SUITES, SUMMARY, TICKERS, Stage

__all__ = ["DATA", "SUITE", "SUITES", "SUMMARY", "TICKERS", "Kind", "Stage", "Study", "Subject", "KINDS", "TICKER",
           "UNIVERSE", "kind", "of_stage", "of_registered", "STAGES", "COMPUTE"]  # fmt: skip

KINDS: tuple[Kind, ...] = (TICKER, UNIVERSE)
# The stages found by name in a table (a stage's name is unique across kinds): its declaration, its compute.
STAGES: dict[str, Stage] = {m.STAGE.name: m.STAGE for k in KINDS for m in k.nodes}
COMPUTE: dict[str, Callable[..., dict]] = {m.STAGE.name: m.compute for k in KINDS for m in k.nodes}
_OF_STAGE = {s.name: k for k in KINDS for s in k.stages}


def kind(name: str) -> Kind:
    """The kind called `name` (`ticker`, `universe`)."""
    return next(k for k in KINDS if k.name == name)


def of_stage(stage: str) -> Kind:
    """The kind whose pipeline has the stage `stage`."""
    return _OF_STAGE[stage]


def of_record(record: dict) -> Kind:
    """The kind a stored record names (a kept execution, a study); those made before kinds said `universe: true`."""
    return kind(record.get("kind") or ("universe" if record.get("universe") else "ticker"))


def of_registered(key: str) -> tuple[Kind, str]:
    """The kind and the name of a registry key (`universe-sp20` -> the universe sp20; `sp500` -> the ticker)."""
    prefixed = sorted((k for k in KINDS if k.prefix and key.startswith(k.prefix)), key=lambda k: -len(k.prefix))
    chosen = prefixed[0] if prefixed else TICKER
    return chosen, key.removeprefix(chosen.prefix)
