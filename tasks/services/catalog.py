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

# A universe: the same six steps for a named list of tickers trained as one (docs/universes.md).
_UNIVERSE = ("preset", "presets", "universe.preprocess", "universe.train")
UNIVERSE_STAGES: tuple[Stage, ...] = (
    Stage(
        "universe_validate",
        "the data-quality gate on every bar of every ticker (validate.universe_policy mask: bars real prices cannot "
        "give masked and named, unusable tickers dropped; refuse: each file by its suite); a ticker with no data, or "
        "fewer than two usable tickers, stops everything after it",
        reads=(TICKERS, SUITES),
        writes=("report.json", "report.md", "masked.csv", SUMMARY),
        params=("validate", "universes"),
        logged=("report.json", "report.md", "masked.csv"),
    ),
    Stage(
        "universe_preprocess",
        "the tickers aligned on their dates, causal features from closes, next-day returns ranked across the "
        "universe each day, split by date, the scaler fitted on training dates only",
        reads=(TICKERS, "universe_validate/report.json", "universe_validate/masked.csv"),
        writes=("panel.npz", SUMMARY),
        params=("universes", "universe.preprocess"),
    ),
    Stage(
        "universe_train",
        "one network trained on the windows of every ticker pooled, gathered batch by batch",
        reads=("universe_preprocess/panel.npz",),
        writes=("ranker.zip", "history.csv", "loss_curves.png", SUMMARY),
        params=("universes", *_UNIVERSE),
        logged=("history.csv", "loss_curves.png"),
    ),
    Stage(
        "universe_evaluate",
        "daily IC and Rank IC on the test window of the model beside reversal, momentum, a ridge on the same inputs "
        "and a network trained on shuffled labels",
        reads=("universe_preprocess/panel.npz", "universe_train/ranker.zip"),
        writes=("scores.npz", "ic.csv", "cumulative_ic.png", SUMMARY),
        params=("universes", *_UNIVERSE, "universe.evaluate"),
        logged=("ic.csv", "cumulative_ic.png"),
    ),
    Stage(
        "universe_backtest",
        "TopkDropout on the scores (k, n and the weighting chosen on the validation window), traded once on the "
        "test window beside equal weight and the best baseline, with costs on every change of weight",
        reads=(
            "universe_preprocess/panel.npz",
            "universe_evaluate/scores.npz",
            "universe_evaluate/summary.json",
            "universe_train/ranker.zip",
        ),
        writes=("ranker.zip", "equity.csv", "search.csv", "equity.png", SUMMARY),
        params=("universes", "universe.portfolio", "backtest.commission", "backtest.slippage"),
        logged=("equity.csv", "search.csv", "equity.png"),
    ),
    Stage(
        "universe_promote",
        "records the run in MLflow from the files above, then the gate: a positive test Rank IC with a t-statistic of "
        "at least universe.promote.min_rank_ic_t, and no worse than the champion on the same days",
        reads=(
            "universe_validate/report.json",
            "universe_validate/report.md",
            "universe_validate/masked.csv",
            "universe_validate/summary.json",
            "universe_preprocess/summary.json",
            "universe_train/history.csv",
            "universe_train/loss_curves.png",
            "universe_train/summary.json",
            "universe_evaluate/ic.csv",
            "universe_evaluate/cumulative_ic.png",
            "universe_evaluate/summary.json",
            "universe_preprocess/panel.npz",
            "universe_backtest/ranker.zip",
            "universe_backtest/equity.csv",
            "universe_backtest/search.csv",
            "universe_backtest/equity.png",
            "universe_backtest/summary.json",
        ),
        writes=(SUMMARY,),
        params=(
            "preset",
            "presets",
            "validate",
            "universes",
            "universe",
            "backtest.commission",
            "backtest.slippage",
            "mlflow",
        ),
    ),
)
UNIVERSE_NAMES: tuple[str, ...] = tuple(s.name for s in UNIVERSE_STAGES)
BY_NAME = {s.name: s for s in (*STAGES, *UNIVERSE_STAGES)}


@dataclass(frozen=True)
class Subject:
    """What one execution trains and registers: one ticker, or a universe (a named list of tickers)."""

    name: str
    tickers: tuple[str, ...]
    universe: bool = False

    @classmethod
    def ticker(cls, name: str) -> Subject:
        return cls(name, (name,))

    @property
    def stages(self) -> tuple[Stage, ...]:
        return UNIVERSE_STAGES if self.universe else STAGES

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.stages)

    @property
    def registered(self) -> str:
        """Its key in the registry: the ticker, or `universe-NAME` (registered as `stockflow-universe-NAME`)."""
        return f"universe-{self.name}" if self.universe else self.name


def subject_of(stage_name: str, name: str, universes: dict[str, tuple[str, ...]]) -> Subject:
    """The subject a stage runs for: a universe's for a universe stage (its tickers from `universes`)."""
    if stage_name in UNIVERSE_NAMES:
        return Subject(name, tuple(universes.get(name, ())), universe=True)
    return Subject.ticker(name)


def stage(name: str) -> Stage:
    """The declaration of the stage named `name`."""
    return BY_NAME[name]


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

    @property
    def headline(self) -> Path:
        universe = self.stage in UNIVERSE_STAGES
        return self.ws.headline_file(f"universe-{self.ticker}" if universe else self.ticker)


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


def _path(ref: str) -> list[str]:
    if ref == DATA:
        return ["data/${item}.csv"]
    if ref == SUITE:
        return ["expectations/${validate.suite}.json"]
    if ref == TICKERS:
        return ["data"]
    if ref == SUITES:
        return ["expectations/${validate.suite}.json", "expectations/${validate.close_suite}.json"]
    upstream, name = ref.split("/", 1)
    return [f"outputs/${{item}}/{upstream}/{name}"]


def render_dvc_yaml() -> str:
    """dvc.yaml: each ticker stage once per ticker of `data.tickers`, each universe stage once per universe of
    `data.universes`, running `python -m tasks STAGE NAME`."""
    import yaml

    stages = {}
    for s in (*STAGES, *UNIVERSE_STAGES):
        out_dir = f"outputs/${{item}}/{s.name}"
        last = s.name in (NAMES[-1], UNIVERSE_NAMES[-1])
        # The last stage records the run: never restored from DVC's run-cache (persist), so each repro records one.
        outs = [{f"{out_dir}/{f}": {"persist": True, "cache": False}} if last else f"{out_dir}/{f}"
                for f in s.writes if f not in s.figures]  # fmt: skip
        body = {
            "desc": s.purpose,
            "cmd": f"python -m tasks {s.name} ${{item}}",
            "deps": [path for r in s.reads for path in _path(r)] + list(code_deps(f"tasks.stages.{s.name}")),
            "params": list(s.params),
            "outs": outs,
        }
        if s.figures:
            body["plots"] = [f"{out_dir}/{f}" for f in s.figures]
        if last:
            headline = "metrics/universe-${item}.json" if s in UNIVERSE_STAGES else "metrics/${item}.json"
            body["metrics"] = [{headline: {"cache": False, "persist": True}}]
        stages[s.name] = {"foreach": "${data.universes}" if s in UNIVERSE_STAGES else "${data.tickers}", "do": body}
    header = (
        "# Rendered from tasks/services/catalog.py by `make dvc.yaml`: edit the catalog, not this file\n"
        "# (tests/tasks/test_catalog.py fails when they disagree).\n"
        "# Each stage runs the stage function the Prefect flow runs (tasks/stages/<stage>.py), once per ticker in\n"
        "# params.yaml's data.tickers: `dvc repro` for the watchlist, `dvc repro train@sp500` for one stage; the\n"
        "# universe_* stages once per universe of data.universes (`dvc repro universe_train@sp20`).\n"
        "# Use the project's Python: `make repro`, or `source .venv/bin/activate && dvc repro`.\n"
    )
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False, width=120)


if __name__ == "__main__":
    (REPO / "dvc.yaml").write_text(render_dvc_yaml())
    print("dvc.yaml written from tasks/services/catalog.py")
