"""The shape of a stage's declaration, and the only paths a stage may open.

Each stage module declares its `STAGE` (tasks/stages/<stage>.py): its inputs, outputs and
settings. The stage function gets its paths from here (and may open nothing else: an
undeclared read or write is an error), the recorder knows from its declaration what to log,
and `dvc.yaml` is rendered from the declarations (`tasks/services/dvc_file.py`). The code a
stage depends on is found by reading its imports (`code_deps`), so `dvc.yaml` cannot forget a
module.
"""

from __future__ import annotations

import ast
import functools
from dataclasses import dataclass
from pathlib import Path

from tasks.services.workspace import Workspace

SUMMARY = "summary.json"  # every stage's figures, numbers and words; its numbers become `<stage>/...` metrics
DATA = "data"  # the ticker's price file
SUITE = "suite"  # the expectation suite named by validate.suite
TICKERS = "tickers"  # a universe's price files, one per ticker (data/ as a whole, for DVC)
SUITES = "suites"  # the suites a universe's files are checked by: validate.suite, and validate.close_suite
REPO = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class Stage:
    """One stage's declaration: what it is for, the files it reads and writes, the settings it depends on."""

    name: str
    purpose: str
    reads: tuple[str, ...]  # DATA, SUITE, or "<stage>/<file>"
    writes: tuple[str, ...]  # files in outputs/<ticker>/<stage>/, SUMMARY always among them
    params: tuple[str, ...]  # params.yaml keys it depends on (whole sections or single keys)
    logged: tuple[str, ...] = ()  # of `writes`: attached to the MLflow run (PNGs at its top level)
    trains: bool = False  # it fits networks: SIGINT and SIGTERM take effect between its batches
    shows_progress: bool = False  # it takes a progress bar (its epochs)

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(f for f in self.writes if f.endswith(".png"))


class StageFiles:
    """The paths one stage may read and write for one ticker (or universe) in one workspace, and no others."""

    def __init__(self, stage: Stage, ws: Workspace, ticker: str, suite: str = "ohlcv"):
        self.stage, self.ws, self.ticker, self.suite = stage, ws, ticker, suite

    def prices(self, tickers: tuple[str, ...]) -> dict[str, Path]:
        """A universe's price files, one per ticker."""
        self._declared(TICKERS)
        return {t: self.ws.data_file(t) for t in tickers}

    def suites(self, *names: str) -> dict[str, Path]:
        """The expectation suites a universe's files are checked by, by name."""
        self._declared(SUITES)
        return {name: self.ws.suite_file(name) for name in names}

    def _declared(self, ref: str) -> None:
        if ref not in self.stage.reads:
            raise KeyError(f"stage {self.stage.name} reads {ref!r} without declaring it in tasks/services/catalog.py")

    def input(self, ref: str) -> Path:
        self._declared(ref)
        if ref == DATA:
            return self.ws.data_file(self.ticker)
        if ref == SUITE:
            return self.ws.suite_file(self.suite)
        upstream, name = ref.split("/", 1)
        return self.ws.stage_dir(self.ticker, upstream) / name

    def output(self, name: str) -> Path:
        if name not in self.stage.writes:
            raise KeyError(f"stage {self.stage.name} writes {name!r} without declaring it in tasks/services/catalog.py")
        path = self.ws.stage_dir(self.ticker, self.stage.name) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        return path


def files(stage: Stage, ws: Workspace, ticker: str, suite: str = "ohlcv") -> StageFiles:
    """The paths `stage` may use for `ticker` (or a universe) in `ws`."""
    return StageFiles(stage, ws, ticker, suite)


# --- dvc.yaml ----------------------------------------------------------------------------------------------------


@functools.cache  # the import graph of the code this process runs does not change under it
def code_deps(module: str) -> tuple[str, ...]:
    """The project's source files `module` imports, directly or through others (function-level imports too)."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = _module_path(name)
        if path is None or str(path) in seen:
            continue
        seen.add(str(path))
        todo.extend(_imported(path))
    return tuple(sorted(str(Path(p).relative_to(REPO)) for p in seen))


@functools.cache  # each stage's walk passes through the same core modules: parse each file once
def _imported(path: Path) -> tuple[str, ...]:
    """The modules (and module.name candidates) that the file at `path` imports, at any level. A package that finds
    its plug-ins itself (`stockflow/plugins.py`: model families, strategies, ...) imports every module in it."""
    names: list[str] = []
    text = path.read_text()
    if path.name == "__init__.py" and "discover(__name__, __path__" in text:
        package = ".".join(path.parent.relative_to(REPO).parts)
        names.extend(f"{package}.{module.stem}" for module in sorted(path.parent.glob("*.py")))
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
            names.extend(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return tuple(names)


def _module_path(name: str) -> Path | None:
    if name.split(".")[0] not in ("stockflow", "tasks"):
        return None
    base = REPO.joinpath(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None
