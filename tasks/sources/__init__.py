"""Where prices come from: `stockflow ingest --source KIND:ARG` and params.yaml's `data.source`.

A source is one module here that defines `SOURCE`, an object with a `kind` (the part
before the colon), a line of `help`, and `load(arg)`, which gives the price series it
holds, each with the ticker it is stored under unless the user names one. Every series
then passes the data gate before it becomes data (`tasks/commands/ingest.py`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

from stockflow import plugins
from stockflow.errors import UsageError
from stockflow.formats import Normalised


@dataclass(frozen=True)
class Loaded:
    """One price series from a source: its ticker, its rows as read (and what was normalised), where it came from."""

    ticker: str
    prices: Normalised
    description: str


class Source(Protocol):
    kind: str
    help: str  # `KIND:ARG  what it gives`, for --help and for an unknown source's message

    def load(self, arg: str) -> list[Loaded]:
        """The series `arg` names (UsageError when it names none)."""


def known(arg: str, names: dict[str, str], what: str) -> str:
    """`arg` if it is one of `names` (a source's datasets); else UsageError listing them."""
    if arg not in names:
        raise UsageError(f"unknown {what} {arg!r}; available: {', '.join(names)}")
    return arg


@functools.cache
def _sources() -> dict[str, Source]:
    return plugins.discover(__name__, __path__, "SOURCE", "kind")


def described() -> str:
    """Every source, one `KIND:ARG  what it gives` each."""
    return "; ".join(s.help for _, s in sorted(_sources().items()))


def load(source: str) -> list[Loaded]:
    """The series of `KIND:ARG`; UsageError naming the sources when none fits."""
    kind, _, arg = source.partition(":")
    if kind not in _sources() or not arg:
        raise UsageError(f"source {source!r} is not one of: {described()}")
    return _sources()[kind].load(arg)
