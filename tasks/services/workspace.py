"""Where one execution reads and writes.

A workspace is a project (params.yaml, expectations/, data/, the MLflow store) and
a work folder for the stage outputs of one execution:

- under DVC the work folder is the project itself: DVC owns `outputs/` there, and
  its repository lock keeps two `dvc repro` apart;
- every flow execution gets a private work folder under `.stockflow/runs/`, with
  its own copy of the ticker's price file, so two executions never read each
  other's files, even for the same ticker at the same moment.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stockflow.config import Params, parse_params
from stockflow.errors import ParamsError, UsageError, check_ticker

RUNS = Path(".stockflow") / "runs"
KEPT = "unrecorded.json"  # in a private work folder kept after its run: what it takes to record it later


@dataclass(frozen=True)
class Workspace:
    """The project and the work folder of one execution (see the module's docstring)."""

    root: Path  # the project: params.yaml, expectations/, data/, mlruns/
    work: Path  # this execution's data/, outputs/ and metrics/: `root` itself, or a private folder
    run_id: str | None = None  # the MLflow run the execution records into, once it is open (the last stage's)

    @classmethod
    def project(cls, root: Path | str) -> Workspace:
        """The project as its own work folder: how `dvc repro` stages see it."""
        root = Path(root).resolve()
        return cls(root, root)

    @classmethod
    def private(cls, root: Path | str, ticker: str) -> Workspace:
        """A fresh work folder for one execution of `ticker`, named so a person can tell which is which."""
        root = Path(root).resolve()
        stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
        work = root / RUNS / f"{check_ticker(ticker)}-{stamp}-{secrets.token_hex(3)}"
        work.mkdir(parents=True)
        return cls(root, work)

    @property
    def is_private(self) -> bool:
        return self.work != self.root

    # The project's files.
    @property
    def params_file(self) -> Path:
        return self.root / "params.yaml"

    def suite_file(self, name: str) -> Path:
        return self.root / "expectations" / f"{name}.json"

    def project_data_file(self, ticker: str) -> Path:
        return self.root / "data" / f"{check_ticker(ticker)}.csv"

    # This execution's files.
    def data_file(self, ticker: str) -> Path:
        """The price file the stages read: the execution's own copy in a private workspace."""
        return self.work / "data" / f"{check_ticker(ticker)}.csv"

    def stage_dir(self, ticker: str, stage: str) -> Path:
        return self.work / "outputs" / check_ticker(ticker) / stage

    def headline_file(self, ticker: str) -> Path:
        return self.work / "metrics" / f"{check_ticker(ticker)}.json"

    def snapshot_data(self, ticker: str) -> str:
        """Copy the project's price file into the private work folder; its md5."""
        source, target = self.project_data_file(ticker), self.data_file(ticker)
        if not source.is_file():
            raise UsageError(f"{source} not found: `stockflow ingest --ticker {ticker} --source csv:FILE` first")
        if target != source:
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        return md5(target)

    def load_params(self, overrides: list[str] | tuple[str, ...] = ()) -> Params:
        """The project's settings with `overrides` applied, validated: parsed once per process for the same text
        (a run's command, flow, name and stages all ask)."""
        return _parsed(self.params_file, _text(self.params_file), tuple(overrides), _ingested_universes(self.root))

    def load_suite(self, name: str) -> dict[str, Any]:
        path = self.suite_file(name)
        if not path.is_file():
            raise UsageError(f"expectation suite {name!r} not found at {path}")
        return json.loads(path.read_text())

    def remove(self) -> None:
        """Delete a private work folder (never the project)."""
        if self.is_private:
            shutil.rmtree(self.work, ignore_errors=True)

    def claim(self) -> None:
        """Name this process as the private work folder's owner, so a later execution can tell an abandoned one."""
        from tasks.services.process import host, process_started

        if self.is_private:
            owner = {"host": host(), "pid": os.getpid(), "started": process_started(os.getpid())}
            (self.work / "owner.json").write_text(json.dumps(owner))


def remove_abandoned(root: Path) -> None:
    """Delete private work folders whose process is gone (a kill -9 leaves its folder behind), except those kept
    to be recorded later (`KEPT`)."""
    from tasks.services.process import host, process_started

    for folder in (root / RUNS).glob("*") if (root / RUNS).is_dir() else []:
        if (folder / KEPT).is_file():
            continue  # waits for `stockflow record`
        try:
            info = json.loads((folder / "owner.json").read_text())
        except (OSError, ValueError):
            if time.time() - folder.stat().st_mtime > 3600:  # never claimed: a crash right at the start
                shutil.rmtree(folder, ignore_errors=True)
            continue
        if info.get("host") != host():
            continue  # another machine's (a shared project folder): only it can tell whether its process lives
        if process_started(int(info["pid"])) != info["started"]:
            shutil.rmtree(folder, ignore_errors=True)


UNIVERSES = Path("data") / "universes"  # NAME.txt: a universe defined by `stockflow ingest --universe NAME`


def universe_file(root: Path, name: str) -> Path:
    return root / UNIVERSES / f"{check_ticker(name, where='universe')}.txt"


def _ingested_universes(root: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """The universes `stockflow ingest --universe` defined, versioned with the data (data/universes/NAME.txt)."""
    folder = root / UNIVERSES
    found = []
    for path in sorted(folder.glob("*.txt")) if folder.is_dir() else []:
        found.append((path.stem, tuple(t.strip() for t in path.read_text().splitlines() if t.strip())))
    return tuple(found)


def _text(path: Path) -> str:
    if not path.is_file():
        raise ParamsError(f"{path} not found: is --root the project folder?")
    return path.read_text()


@functools.lru_cache(maxsize=32)
def _parsed(path: Path, text: str, overrides: tuple[str, ...], ingested: tuple = ()) -> Params:
    """params.yaml with the universes defined by ingest added (params.yaml's own definition of a name wins)."""
    raw = _mapping(path, text)
    if ingested:
        from stockflow.config import Params

        defined = raw.get("universes")
        defined = Params.model_fields["universes"].default_factory() if defined is None else defined
        raw = {**raw, "universes": {**{name: list(t) for name, t in ingested}, **defined}}
    return parse_params(raw, overrides)


def read_params_file(path: Path) -> dict[str, Any]:
    """params.yaml as a mapping; a missing, empty or broken file is a ParamsError naming it."""
    return _mapping(path, _text(path))


def _mapping(path: Path, text: str) -> dict[str, Any]:
    import yaml

    try:
        raw = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ParamsError(f"{path} is not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if raw is None:
        raise ParamsError(f"{path} is empty: it needs the sections of settings (data:, train:, ...)")
    if not isinstance(raw, dict):
        raise ParamsError(f"{path} must be a mapping of sections (data:, train:, ...)")
    return raw


def md5(path: Path) -> str:
    """The md5 of a file's bytes, read in blocks."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def project_root(given: Path | str | None = None) -> Path:
    """The project folder: `given`, else $STOCKFLOW_ROOT, else the current folder."""
    return Path(given or os.environ.get("STOCKFLOW_ROOT") or ".").resolve()
