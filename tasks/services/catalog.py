"""Every stage's inputs, outputs and settings, declared once.

The stage functions get their paths from here (and may open nothing else: an
undeclared read or write is an error), the recorder knows from here what to log,
and `dvc.yaml` is rendered from here (`make dvc.yaml`; a test fails when the
committed file and this catalog disagree). The code a stage depends on is found
by reading its imports, so `dvc.yaml` cannot forget a module.
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

    @property
    def figures(self) -> tuple[str, ...]:
        return tuple(f for f in self.writes if f.endswith(".png"))


_MODEL = ("preset", "presets", "preprocess", "train")
STAGES: tuple[Stage, ...] = (
    Stage(
        "validate",
        "the data-quality gate: the expectation suite on the price file; errors stop everything after it",
        reads=(DATA, SUITE),
        writes=("report.json", "report.md", "prices.png", SUMMARY),
        params=("validate",),
        logged=("report.json", "report.md", "prices.png"),
    ),
    Stage(
        "preprocess",
        "80/20 chronological split, scalers fitted on training rows only, lookback windows",
        reads=(DATA, "validate/report.json"),
        writes=("dataset.npz", "transform.joblib", SUMMARY),
        params=("preset", "presets", "preprocess"),
    ),
    Stage(
        "train",
        "the model (train.architecture), seeded and deterministic, early-stopped on the validation windows",
        reads=("preprocess/dataset.npz", "preprocess/transform.joblib"),
        writes=("forecaster.zip", "history.csv", "loss_curves.png", SUMMARY),
        params=_MODEL,
        logged=("history.csv", "loss_curves.png"),
    ),
    Stage(
        "evaluate",
        "test-window forecasts of the model beside persistence, drift, SMA, ridge and SVR; its interval calibrated "
        "on the validation window, scored beside Gaussian and GARCH intervals",
        reads=(DATA, "preprocess/dataset.npz", "preprocess/transform.joblib", "train/forecaster.zip"),
        writes=(
            "predictions.csv",
            "forecaster.zip",
            "walk_forward.csv",
            "predicted_vs_actual.png",
            "interval_band.png",
            SUMMARY,
        ),
        params=(*_MODEL, "evaluate"),
        logged=("predictions.csv", "walk_forward.csv", "predicted_vs_actual.png", "interval_band.png"),
    ),
    Stage(
        "backtest",
        "the forecasts traded under the rules, beside Buy-and-Hold; the strategy tuned on the validation window",
        reads=(DATA, "evaluate/predictions.csv"),
        writes=("equity.csv", "trades.csv", "search.csv", "equity.png", "trades.png", "search_heatmap.png", SUMMARY),
        params=("backtest",),
        logged=("equity.csv", "trades.csv", "search.csv", "equity.png", "trades.png", "search_heatmap.png"),
    ),
    Stage(
        "promote",
        "records the run in MLflow from the files above, then applies the gate: registers the model "
        "(unless an identical one is) and moves the aliases",
        reads=(
            DATA,
            "validate/report.json",
            "validate/report.md",
            "validate/prices.png",
            "validate/summary.json",
            "preprocess/summary.json",
            "train/history.csv",
            "train/loss_curves.png",
            "train/summary.json",
            "evaluate/predictions.csv",
            "evaluate/forecaster.zip",
            "evaluate/walk_forward.csv",
            "evaluate/predicted_vs_actual.png",
            "evaluate/interval_band.png",
            "evaluate/summary.json",
            "backtest/equity.csv",
            "backtest/trades.csv",
            "backtest/search.csv",
            "backtest/equity.png",
            "backtest/trades.png",
            "backtest/search_heatmap.png",
            "backtest/summary.json",
        ),
        writes=(SUMMARY,),
        # What the run records is every setting but the watchlist itself: adding a ticker re-runs only its stages.
        params=("preset", "presets", "validate", "preprocess", "train", "evaluate", "backtest", "promote", "mlflow"),
    ),
)
NAMES: tuple[str, ...] = tuple(s.name for s in STAGES)
BY_NAME = {s.name: s for s in STAGES}


def stage(name: str) -> Stage:
    """The declaration of the stage named `name`."""
    return BY_NAME[name]


class StageFiles:
    """The paths one stage may read and write for one ticker in one workspace, and no others."""

    def __init__(self, stage: Stage, ws: Workspace, ticker: str, suite: str = "ohlcv"):
        self.stage, self.ws, self.ticker, self.suite = stage, ws, ticker, suite

    def input(self, ref: str) -> Path:
        if ref not in self.stage.reads:
            raise KeyError(f"stage {self.stage.name} reads {ref!r} without declaring it in tasks/services/catalog.py")
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

    @property
    def headline(self) -> Path:
        return self.ws.headline_file(self.ticker)


def files(name: str, ws: Workspace, ticker: str, suite: str = "ohlcv") -> StageFiles:
    """The paths stage `name` may use for `ticker` in `ws`."""
    return StageFiles(stage(name), ws, ticker, suite)


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


def _path(ref: str) -> str:
    if ref == DATA:
        return "data/${item}.csv"
    if ref == SUITE:
        return "expectations/${validate.suite}.json"
    upstream, name = ref.split("/", 1)
    return f"outputs/${{item}}/{upstream}/{name}"


def render_dvc_yaml() -> str:
    """dvc.yaml: each stage once per ticker of `data.tickers`, running `python -m tasks STAGE TICKER`."""
    import yaml

    stages = {}
    for s in STAGES:
        out_dir = f"outputs/${{item}}/{s.name}"
        last = s.name == NAMES[-1]
        # The last stage records the run: never restored from DVC's run-cache (persist), so each repro records one.
        outs = [{f"{out_dir}/{f}": {"persist": True, "cache": False}} if last else f"{out_dir}/{f}"
                for f in s.writes if f not in s.figures]  # fmt: skip
        body = {
            "desc": s.purpose,
            "cmd": f"python -m tasks {s.name} ${{item}}",
            "deps": [_path(r) for r in s.reads] + list(code_deps(f"tasks.stages.{s.name}")),
            "params": list(s.params),
            "outs": outs,
        }
        if s.figures:
            body["plots"] = [f"{out_dir}/{f}" for f in s.figures]
        if last:
            body["metrics"] = [{"metrics/${item}.json": {"cache": False, "persist": True}}]
        stages[s.name] = {"foreach": "${data.tickers}", "do": body}
    header = (
        "# Rendered from tasks/services/catalog.py by `make dvc.yaml`: edit the catalog, not this file\n"
        "# (tests/tasks/test_catalog.py fails when they disagree).\n"
        "# Each stage runs the stage function the Prefect flow runs (tasks/stages/<stage>.py), once per ticker in\n"
        "# params.yaml's data.tickers: `dvc repro` for the watchlist, `dvc repro train@sp500` for one stage.\n"
        "# Use the project's Python: `make repro`, or `source .venv/bin/activate && dvc repro`.\n"
    )
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False, width=120)


if __name__ == "__main__":
    (REPO / "dvc.yaml").write_text(render_dvc_yaml())
    print("dvc.yaml written from tasks/services/catalog.py")
