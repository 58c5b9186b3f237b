"""Where prices come from: `stockflow ingest --source KIND:ARG` and params.yaml's `data.source`.

A source is one module here that defines `SOURCE`, an object with a `kind` (the part
before the colon), a line of `help`, and `load(arg)`, which gives the price series it
holds, each with the ticker it is stored under unless the user names one. Every series
then passes the data gate before it becomes data (`tasks/commands/ingest.py`).

A source of a whole market (`panel:`, `stooq:`) has `market(arg, tickers)` instead: every ticker's bars (or only
those of `tickers`) as one long frame,
checked in one pass and stored in one process (`ingest_market`), and `adjusted`, whether its provider adjusted the
prices for splits and dividends.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Protocol

from stockflow import plugins
from stockflow.data.formats import Normalised
from stockflow.errors import UsageError


@dataclass(frozen=True)
class Loaded:
    """One price series from a source: its ticker, its rows as read (and what was normalised), where it came from."""

    ticker: str
    prices: Normalised
    description: str


@dataclass(frozen=True)
class Market:
    """Many tickers' bars from one source: `Ticker, Date, Open, High, Low, Close, Volume` rows, one per bar."""

    long: object  # pandas.DataFrame (not imported here: `--help` stays light)
    description: str
    adjusted: bool  # the provider adjusted the prices for splits and dividends
    notes: list[str]

    def frames(self) -> dict:
        """Each ticker's canonical frame (Date first), in the order the tickers come."""
        return {str(t): f.drop(columns="Ticker").reset_index(drop=True)
                for t, f in self.long.groupby("Ticker", sort=False)}  # fmt: skip


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


def _source(spec: str) -> tuple[Source, str]:
    kind, _, arg = spec.partition(":")
    if kind not in _sources() or not arg:
        raise UsageError(f"source {spec!r} is not one of: {described()}")
    return _sources()[kind], arg


def is_market(spec: str) -> bool:
    """Whether `spec` names a source of a whole market (one with `market(arg)`)."""
    kind, _, arg = spec.partition(":")
    return bool(arg) and hasattr(_sources().get(kind), "market")


def load(source: str) -> list[Loaded]:
    """The series of `KIND:ARG`; UsageError naming the sources when none fits."""
    src, arg = _source(source)
    if hasattr(src, "market"):
        from stockflow.data.formats import Normalised

        market = src.market(arg)
        return [Loaded(t, Normalised(f, market.notes), f"{t}: {market.description}")
                for t, f in market.frames().items()]  # fmt: skip
    return src.load(arg)


def market(source: str, tickers: set[str] | None = None) -> Market:
    """Every ticker's bars of a market source (only `tickers`' when given); UsageError for a source of one series."""
    src, arg = _source(source)
    if not hasattr(src, "market"):
        raise UsageError(
            f"{source} is not a source of a market: a market comes from "
            f"{', '.join(k + ':PATH' for k, s in sorted(_sources().items()) if hasattr(s, 'market'))}"
        )
    found = src.market(arg, tickers)  # a market source reads only `tickers`' bars when it is given them
    missing = sorted((tickers or set()) - set(found.long["Ticker"]))
    if missing:
        raise UsageError(f"{source} has no bars for {', '.join(missing[:10])}"
                         + (f" and {len(missing) - 10} more" if len(missing) > 10 else ""))  # fmt: skip
    return found
