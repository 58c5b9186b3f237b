"""What every kind of subject shares: the subject a run is of, and the `Kind` interface.

A kind (one ticker, one universe of tickers; a pair or a sector later) owns what differs
between them: its stages, the name it is registered under, the settings its runs read, how
its data is fingerprinted, its headline, its summary and what a study of it optimises. The
code around it (the execution, the recorder, DVC, the flows, the tuner) asks the kind and
never which kind it is.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import TYPE_CHECKING, Any

from tasks.services.catalog import Stage

if TYPE_CHECKING:
    from stockflow.config import Params, TrainParams


@dataclass(frozen=True)
class Subject:
    """What one execution trains and registers: a name, its tickers and its kind."""

    name: str
    tickers: tuple[str, ...]
    kind: Kind

    @property
    def stages(self) -> tuple[Stage, ...]:
        return self.kind.stages

    @property
    def names(self) -> tuple[str, ...]:
        return self.kind.names

    @property
    def registered(self) -> str:
        """Its key in the registry (the registered model is `stockflow-<key>`)."""
        return self.kind.registered(self.name)

    @property
    def label(self) -> str:
        """How a run's name and a flow run's tag say it: `sp500`, `universe sp20`."""
        return self.kind.label(self.name)


@dataclass(frozen=True)
class Study:
    """What a study of a kind optimises on the validation window, and how it reads the runs it ends with."""

    minimise: bool  # a ticker's validation loss goes down; a universe's Rank IC up
    space: Callable[[Params], Mapping[str, Any]]  # the search space in the settings
    objective: Callable[[Any, Params], tuple[float, Any]]  # (data, settings) -> (validation figure, fitted)
    lines: Callable[[Any, dict, dict], list[str]]  # (best trial, tuned run, default run) -> the summary's lines


class Kind:
    """The interface a kind implements (`tasks/kinds/ticker.py`, `tasks/kinds/universe.py`)."""

    name: str  # `ticker`, `universe`: its flow run's `kind:` tag, a study's target
    nodes: tuple[ModuleType, ...]  # its stage modules in order, each with its `STAGE` and `compute`
    stages: tuple[Stage, ...]  # their declarations: the first is the data gate, the last records the run and gates
    listing: str  # the key of params.yaml's `data` that lists the subjects `dvc repro` runs (`tickers`)
    prefix: str  # before its name in the registry and the headline file (`universe-`); empty for a ticker
    closes_only: bool  # its tickers' files may be adjusted closes alone (a universe ranks closes)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    def registered(self, name: str) -> str:
        """The subject's key in the registry, in metrics/ and in a deployment's parameters."""
        return f"{self.prefix}{name}"

    def label(self, name: str) -> str:
        return name

    def tag(self, name: str) -> str:
        """The Prefect tag of a flow run of the subject `name` (`universe:sp20`)."""
        return f"{self.name}:{name}"

    def subject(self, name: str, universes: Mapping[str, tuple[str, ...]]) -> Subject:
        """The subject `name` of this kind (its tickers from params.yaml's `universes` where it has several)."""
        raise NotImplementedError

    def checked(self, params: Params, name: str) -> Subject:
        """The subject `name`, refused (a StockflowError saying why) before any run is opened when it cannot run."""
        raise NotImplementedError

    def tagged_tickers(self, subject: Subject) -> tuple[str, ...] | None:
        """The tickers a run's tags list (None: the run is of one ticker, named by its `stockflow.ticker` tag)."""
        return subject.tickers

    def reads(self, key: str) -> bool:
        """Whether its model or strategy reads the setting `key` (a dotted params.yaml key): what names a run."""
        raise NotImplementedError

    def records(self, key: str) -> bool:
        """Whether its runs record the setting `key` as an MLflow param (what it reads, and what places it)."""
        return self.reads(key)

    def train_params(self, params: Params) -> TrainParams:
        raise NotImplementedError

    def model_settings(self, params: Params) -> dict[str, Any]:
        """The settings that make its model (with the data and the code: the model's key)."""
        raise NotImplementedError

    @property
    def model_stages(self) -> tuple[str, ...]:
        """The stages that make its model (the first two after the data gate)."""
        return tuple(s.name for s in self.stages[1:3])

    def data_said(self, name: str, tickers: tuple[str, ...]) -> str:
        """Its price files in a few words (`data/sp500.csv`, `universe sp20's 20 files`)."""
        return f"{self.label(name)}'s {len(tickers)} files"

    def data_md5(self, name: str, files: dict[str, str]) -> str:
        """One md5 for the price files the subject's run snapshotted (`files`: ticker -> md5)."""
        raise NotImplementedError

    def headline(self, done: dict[str, dict], promote: dict | None = None) -> dict[str, float | None]:
        """The run's headline figures, once the stages that give them are in `done` (else empty)."""
        raise NotImplementedError

    def summary(self, results: dict[str, Any]) -> str:
        """The few lines a run ends with, from each stage's summary."""
        raise NotImplementedError

    def study_data(self, name: str, frames: dict[str, Any]) -> Any:
        """What a study's objective reads, from the subject's validated price frames (`frames`, by ticker)."""
        return frames

    @property
    def study(self) -> Study:
        raise NotImplementedError

    def predict(self, ws: Any, params: Params, name: str, allow_stale: bool) -> Any:
        """The champion's answer for the next session (`stockflow predict`): an object with `to_dict()` and
        `to_text()`."""
        raise NotImplementedError

    def check(self, ws: Any, params: Params, name: str) -> Checked:
        """The champion checked on its live days and recorded (`stockflow monitor`)."""
        raise NotImplementedError


@dataclass(frozen=True)
class Checked:
    """A monitor check as the command prints it: its JSON and its text."""

    report: dict[str, Any]
    text: str
