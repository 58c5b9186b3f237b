"""Typed, frozen settings: `params.yaml` is validated into these before any work starts.

A typo in a key or a value of the wrong type fails at start-up with the full
dotted path of the offending key, not an hour into training.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from stockflow.errors import InvalidName, ParamsError, check_ticker
from stockflow.models.settings import TrainParams
from stockflow.monitors.settings import MonitorParams
from stockflow.sections import Section as _Section
from stockflow.ticker.settings import PreprocessParams
from stockflow.trading.settings import BacktestParams, OptimiseParams, SizingParams

# The sections their owners declare (the model families', the strategies', the monitor's), composed here.
__all__ = [
    "Params",
    "ParamsError",
    "parse_params",
    "flatten",
    "changes",
    "TrainParams",
    "MonitorParams",
    "BacktestParams",
    "OptimiseParams",
    "SizingParams",
]


class DataParams(_Section):
    """Which tickers make the watchlist, where `make run` gets its data, where new bars arrive."""

    tickers: tuple[str, ...] = Field(("sp500",), min_length=1, description="the watchlist: data/<ticker>.csv each")
    universes: tuple[str, ...] = Field((), description="the universes `dvc repro` trains (of `universes`)")
    source: str = "sample:sp500"
    drop_folder: str = "incoming"  # scheduled runs take new bars from <drop_folder>/<ticker>*.csv

    @field_validator("tickers")
    @classmethod
    def _names(cls, tickers: tuple[str, ...]) -> tuple[str, ...]:
        for name in tickers:
            try:
                check_ticker(name)
            except InvalidName as exc:  # reported with the key's path, like any other bad value
                raise ValueError(str(exc)) from None
        if len(set(tickers)) != len(tickers):
            raise ValueError("a ticker is listed twice")
        return tickers


class ValidateParams(_Section):
    """The thresholds of the data-quality gate (the rules themselves are expectations/<suite>.json)."""

    suite: str = "ohlcv"
    close_suite: str = Field("close", description="the suite of a close-only file (a universe's, e.g. adjusted closes)")
    min_rows: int = Field(300, ge=2)
    max_abs_return: float = Field(0.4, gt=0)
    close_max_abs_return: float = Field(0.9, gt=0, description="the same bound for a close-only file (a stock's)")
    max_gap_days: int = Field(10, ge=1)
    warn_gap_days: int = Field(5, ge=1)
    universe_policy: Literal["mask", "refuse"] = Field(
        "mask", description="what a universe does with a bar real prices cannot give: mask it, or refuse the universe"
    )
    max_bad_share: float = Field(0.05, ge=0, le=1, description="a universe drops a ticker with more of its days bad "
                                                               "or missing")  # fmt: skip


class EvaluateParams(_Section):
    """The baselines' settings and the optional robustness checks (seed spread, walk-forward refits)."""

    sma_window: int = Field(10, ge=1)
    seeds: int = Field(1, ge=1, description="retrain with seeds train.seed .. train.seed+N-1; report mean and spread")
    walk_forward_folds: int = Field(0, ge=0, description="refit before each of N test folds; 0 = off")
    walk_forward_window: Literal["expanding", "rolling"] = "expanding"
    # The champion's interval for the next close: calibrated on the validation window to cover this share of days.
    interval_level: float = Field(0.9, gt=0, lt=1, description="the prediction interval's level, in (0, 1)")


class PromoteParams(_Section):
    """The gate between a newly trained model (challenger) and the registry's champion."""

    max_mae_ratio: float = Field(1.0, gt=0, description="MAE / persistence MAE must not exceed this")
    # Margins by which the challenger must beat the champion; negative values are tolerances.
    min_mae_gain: float = Field(0.0, gt=-1, lt=1, description="fraction of the champion's MAE")
    min_sharpe_gain: float = 0.0


class WatchlistParams(_Section):
    """Where the tickers of a watchlist run: how many at once, on which runner (results do not depend on it)."""

    runner: Literal["local", "dask"] = "local"  # local: a pool of processes here; dask: a Dask cluster
    workers: int = Field(2, ge=1, description="tickers at once (processes; Dask workers)")
    dask_address: str | None = None  # tcp://host:8786: an existing Dask scheduler (implies runner dask)


class PredictParams(_Section):
    """When `stockflow predict` refuses to forecast."""

    max_stale_days: int = Field(5, ge=0, description="refuse to forecast from data whose last bar is older")
    calendar: str = Field("XNYS", description="exchange_calendars code of the exchange whose next session is forecast")


# The default real universe: 20 S&P 500 stocks, adjusted closes 1990-2022 (`stockflow ingest --source skfolio:sp500`).
SP20 = ("aapl", "amd", "bac", "bby", "cvx", "ge", "hd", "jnj", "jpm", "ko", "lly", "mrk", "msft", "pep", "pfe", "pg",
        "rrc", "unh", "wmt", "xom")  # fmt: skip


class UniversePreprocessParams(_Section):
    """How a universe becomes a panel: windows of the causal features, labels ranked across the universe each day."""

    lookback: int = Field(60, ge=1, description="days of history per window (1: today's factors only, as rows)")
    label: Literal["rank", "zscore"] = "rank"  # what a decision earns, normalised across the universe that day
    horizon: Literal[1, 5, 20] = Field(
        1,
        description="trading days from the fill after a decision to the fill "
        "its label is measured at; the portfolio may hold that long",
    )
    features: Literal["basic", "alpha158", "raw"] = Field(
        "basic",
        description="basic: seven causal features of closes; alpha158: Qlib's 158 factors of OHLCV bars "
        "(robust z-scored on training dates, clipped at 3); raw: each day's bar, every window made relative to "
        "its last day (Qlib's Alpha360, for the networks: lookback 60)",
    )
    test_fraction: float = Field(0.2, gt=0, lt=1, description="the last dates, the same for every ticker")
    val_fraction: float = Field(0.1, gt=0, lt=1, description="of the dates before the test window")
    val_start: dt.date | None = Field(
        None,
        description="the first validation date (with test_start: the split by "
        "dates, as Qlib's segments, instead of by fractions)",
    )
    test_start: dt.date | None = Field(None, description="the first test date")

    @model_validator(mode="after")
    def _dates_in_order(self) -> UniversePreprocessParams:
        if (self.val_start is None) != (self.test_start is None):
            raise ValueError("val_start and test_start split by dates together: give both, or neither")
        if self.val_start is not None and not self.val_start < self.test_start:
            raise ValueError(f"val_start {self.val_start} must come before test_start {self.test_start}")
        return self


class UniverseEvaluateParams(_Section):
    """The universe's scores judged on the test window beside the baselines."""

    seeds: int = Field(1, ge=1, description="retrain with seeds train.seed .. +N-1; report the Rank IC's spread")
    control: bool = Field(True, description="also train on labels shuffled within each day: a null band")
    control_shuffles: int = Field(3, ge=1, description="networks on differently shuffled labels: the null band's width")
    ridge_samples: int = Field(100_000, ge=100, description="training windows the ridge baseline is fitted on")


class PortfolioParams(_Section):
    """TopkDropout on the scores: k, n and the weighting chosen on the validation window
    (stockflow/universe/portfolio.py)."""

    ks: tuple[int, ...] = Field((3, 5, 10), min_length=1, description="names held")
    ns: tuple[int, ...] = Field((1, 2), min_length=1, description="names replaced a day at most")
    weightings: tuple[Literal["equal", "inverse_volatility"], ...] = ("equal", "inverse_volatility")
    every: tuple[int, ...] = Field(
        (), description="also try deciding only every this many days (held between), beside every day and every "
        "horizon days: fewer trades, fewer costs",
    )  # fmt: skip
    objective: Literal["information_ratio", "sharpe", "annual_return"] = "information_ratio"
    min_information_ratio: float = Field(
        1.0,
        description="the best rule is traded only if it beat equal weight on validation, net of costs, by an "
        "information ratio above this; else the portfolio holds equal weight",
    )

    @field_validator("ks", "ns", "every")
    @classmethod
    def _positive(cls, values: tuple[int, ...]) -> tuple[int, ...]:
        if any(v < 1 for v in values):
            raise ValueError("must be positive")
        return values


class UniversePromoteParams(_Section):
    """The gate of a universe's model: its test Rank IC, and the champion's on the same days."""

    min_rank_ic_t: float = Field(2.0, description="the test Rank IC's t-statistic must reach this (and its mean > 0)")
    min_rank_ic_gain: float = Field(0.0, description="the challenger's mean Rank IC minus the champion's, at least")


class UniverseTrainParams(TrainParams):
    """The network across a universe: the paper's, with batches and epochs for a pooled panel of many windows."""

    epochs: int = Field(10, ge=1)
    batch_size: int = Field(512, ge=1)
    patience: int = Field(3, ge=0, description="early-stopping patience; 0 turns it off")
    shrink: bool = False  # scores rank, they are not a move toward persistence


class UniverseParams(_Section):
    """How universes are trained, scored and traded (`stockflow run --universe NAME`, docs/universes.md)."""

    preprocess: UniversePreprocessParams = UniversePreprocessParams()
    train: UniverseTrainParams = UniverseTrainParams()
    evaluate: UniverseEvaluateParams = UniverseEvaluateParams()
    portfolio: PortfolioParams = PortfolioParams()
    promote: UniversePromoteParams = UniversePromoteParams()


class Dimension(_Section):
    """One dimension of a search space: an int or float range (`low`, `high`, `log`, `step`), or `choices`."""

    type: Literal["int", "float", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    step: float | None = None
    choices: tuple[Any, ...] | None = None

    @model_validator(mode="after")
    def _holds(self) -> Dimension:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical dimension needs choices: [a, b, ...]")
            return self
        if self.low is None or self.high is None:
            raise ValueError(f"an {self.type} dimension needs low and high")
        if self.low > self.high:
            raise ValueError(f"low {self.low:g} > high {self.high:g}: the range cannot hold a value")
        if self.log and self.low <= 0:
            raise ValueError("a log range needs low > 0")
        return self


# What `stockflow tune` searches by default: a ticker's network and windows, and a universe's.
TICKER_SPACE = {
    "preprocess.lookback": Dimension(type="int", low=10, high=60, step=5),
    "train.units": Dimension(type="int", low=16, high=128, log=True),
    "train.layers": Dimension(type="int", low=1, high=3),
    "train.dropout": Dimension(type="float", low=0.0, high=0.4),
    "train.learning_rate": Dimension(type="float", low=1e-4, high=1e-2, log=True),
    "train.batch_size": Dimension(type="categorical", choices=(32, 64, 128)),
    "train.architecture": Dimension(type="categorical", choices=("lstm", "gru")),
}
UNIVERSE_SPACE = {
    "universe.preprocess.lookback": Dimension(type="int", low=10, high=60, step=10),
    "universe.train.units": Dimension(type="int", low=16, high=128, log=True),
    "universe.train.dropout": Dimension(type="float", low=0.0, high=0.4),
    "universe.train.learning_rate": Dimension(type="float", low=1e-4, high=1e-2, log=True),
}


class TuneParams(_Section):
    """`stockflow tune`: an Optuna study over a search space, chosen on the validation window only."""

    trials: int = Field(20, ge=1, description="trials of a study (a resumed study runs the rest)")
    timeout_s: float | None = Field(None, gt=0, description="stop starting trials after this many seconds")
    seed: int = Field(0, description="the TPE sampler's seed")
    pruning: bool = Field(True, description="stop a trial whose validation loss per epoch is below the median's")
    workers: int = Field(1, ge=1, description="trials at once (processes, or Dask workers)")
    runner: Literal["local", "dask"] = "local"
    storage: str | None = Field(None, description="the study's database; default: mlruns/optuna.db beside MLflow's")
    space: dict[str, Dimension] = Field(default_factory=lambda: dict(TICKER_SPACE), description="a ticker's study")
    universe_space: dict[str, Dimension] = Field(default_factory=lambda: dict(UNIVERSE_SPACE),
                                                 description="a universe's study")  # fmt: skip

    @field_validator("space", "universe_space")
    @classmethod
    def _settings(cls, space: dict[str, Dimension], info: Any) -> dict[str, Dimension]:
        if not space:
            raise ValueError("the search space is empty: name at least one setting and its range")
        prefixes = ("universe.",) if info.field_name == "universe_space" else ("preprocess.", "train.")
        known = Params().flat()
        for key in space:
            if not key.startswith(prefixes) or key not in known:
                where = "universe.* settings" if info.field_name == "universe_space" else "preprocess.* or train.*"
                raise ValueError(f"{key!r} is not a setting the study can vary (it searches {where})")
            _takes(key, space[key])
        return space


def _takes(key: str, d: Dimension) -> None:
    """ValueError naming `key` unless the setting takes the dimension's bounds and each of its choices."""
    for value in d.choices if d.type == "categorical" else (d.low, d.high):
        value = int(value) if d.type == "int" else value
        *parents, leaf = key.split(".")
        tree: dict[str, Any] = {leaf: value}
        for part in reversed(parents):
            tree = {part: tree}
        try:
            Params.model_validate(tree)
        except ValidationError as exc:
            raise ValueError(f"{key}: {value!r} is not a value it takes ({exc.errors()[0]['msg']})") from None


class MlflowParams(_Section):
    """Where runs are recorded (the experiment; the store comes from MLFLOW_TRACKING_URI or mlruns/)."""

    experiment: str = "stockflow"
    wait_s: float = Field(
        120, ge=0, description="seconds a finished run waits for a tracking server that stopped answering"
    )


class Params(_Section):
    """Every setting, one typed section per stage; `parse_params` builds it from params.yaml."""

    preset: str = "default"
    data: DataParams = DataParams()
    validate_: ValidateParams = Field(ValidateParams(), alias="validate")
    preprocess: PreprocessParams = PreprocessParams()
    train: TrainParams = TrainParams()
    evaluate: EvaluateParams = EvaluateParams()
    backtest: BacktestParams = BacktestParams()
    promote: PromoteParams = PromoteParams()
    watchlist: WatchlistParams = WatchlistParams()
    predict: PredictParams = PredictParams()
    monitor: MonitorParams = MonitorParams()
    mlflow: MlflowParams = MlflowParams()
    # Named lists of ingested tickers, each trained as one universe (`stockflow run --universe NAME`).
    universes: dict[str, tuple[str, ...]] = Field(default_factory=lambda: {"sp20": SP20})
    universe: UniverseParams = UniverseParams()
    tune: TuneParams = TuneParams()

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _gaps_ordered(self) -> Params:
        if self.validate_.warn_gap_days > self.validate_.max_gap_days:
            raise ValueError("validate.warn_gap_days must not exceed validate.max_gap_days")
        return self

    @field_validator("universes")
    @classmethod
    def _named(cls, universes: dict[str, tuple[str, ...]]) -> dict[str, tuple[str, ...]]:
        for name, tickers in universes.items():
            try:
                check_ticker(name, where="universe")
                for ticker in tickers:
                    check_ticker(ticker)
            except InvalidName as exc:
                raise ValueError(str(exc)) from None
            if len(set(tickers)) != len(tickers):
                raise ValueError(f"universe {name}: a ticker is listed twice")
        return universes

    @model_validator(mode="after")
    def _pipeline_universes_defined(self) -> Params:
        missing = [name for name in self.data.universes if name not in self.universes]
        if missing:
            raise ValueError(f"data.universes names {', '.join(missing)}, not defined under universes")
        return self

    def flat(self) -> dict[str, Any]:
        """Every setting as `section.key`: what MLflow records as the run's params."""
        return flatten(self.model_dump(by_alias=True, mode="json"))


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested sections as dotted keys; a list of records (e.g. per-fold results) as `name.1.key`, `name.2.key`..."""
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            value = {str(i): v for i, v in enumerate(value, 1)}
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def parse_params(raw: dict[str, Any] | None, overrides: list[str] | tuple[str, ...] = ()) -> Params:
    """Validate a params mapping: the sections, then the chosen preset over them, then `overrides` over both."""
    if raw is not None and not isinstance(raw, dict):
        raise ParamsError(f"params must be a mapping of sections (validate:, train:, ...), not {type(raw).__name__}")
    tree = with_preset(apply_overrides(raw or {}, overrides))
    tree = apply_overrides(tree, [o for o in overrides if not o.strip().startswith("preset")])
    try:
        return Params.model_validate(tree)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            where = ".".join(str(part) for part in err["loc"])
            problems.append(f"  {where}: {err['msg']}")
        raise ParamsError("invalid params:\n" + "\n".join(problems)) from None


def with_preset(tree: dict[str, Any]) -> dict[str, Any]:
    """`tree` with `presets[preset]` merged over its sections; the `presets` table itself removed.

    `default` is the sections as written; any other name must be a key of `presets`.
    """
    tree = dict(tree)
    presets = tree.pop("presets", None) or {}
    name = tree.get("preset", "default")
    if name == "default":
        return tree
    if not isinstance(presets, dict) or name not in presets:
        choices = ["default", *presets] if isinstance(presets, dict) else ["default"]
        raise ParamsError(f"preset {name!r} is not defined; choose from {choices}")
    if not isinstance(presets[name], dict):
        raise ParamsError(f"presets.{name} must be a mapping of sections")
    return _merge(tree, presets[name])


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in over.items():
        merged[key] = _merge(merged.get(key) or {}, value) if isinstance(value, dict) else value
    return merged


def apply_overrides(raw: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """Return a copy of `raw` with each `a.b=value` applied; values are parsed as YAML scalars."""
    import copy

    import yaml

    tree = copy.deepcopy(raw)
    for item in overrides:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ParamsError(f"override {item!r} is not of the form section.key=value")
        *parents, leaf = key.strip().split(".")
        node = tree
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ParamsError(f"override {item!r}: {part!r} is not a section")
        try:
            node[leaf] = yaml.safe_load(text)
        except yaml.YAMLError:
            raise ParamsError(f"override {item!r}: the value is not valid YAML") from None
    return tree


UNIVERSE_KEYS = ("universe.", "validate.", "backtest.commission", "backtest.slippage")  # what a universe's run reads


def changes(params: Params, baseline: Params, reads: Callable[[str], bool] | None = None) -> list[str]:
    """`key=value` for each setting that differs from `baseline`, in definition order, of those `reads` says a run
    reads (a ticker's leave out a universe's settings, and the other way round; default: every setting).

    Keys are as short as stays unambiguous (`epochs=2`, but `evaluate.walk_forward_folds=2`).
    The preset, the watchlist and the universes' lists are left out: a run's name says them separately; the
    tuner's settings too (no run reads them).
    """

    def read(key: str) -> bool:
        if key.startswith(("universes.", "tune.")):  # the tuner's settings make no run's model
            return False
        return reads is None or reads(key)

    now, base = {k: v for k, v in params.flat().items() if read(k)}, baseline.flat()
    leaf_count: dict[str, int] = {}
    for key in now:
        leaf = key.rsplit(".", 1)[-1]
        leaf_count[leaf] = leaf_count.get(leaf, 0) + 1
    out = []
    for key, value in now.items():
        if key in ("preset", "data.tickers") or base.get(key) == value:
            continue
        leaf = key.rsplit(".", 1)[-1]
        out.append(f"{leaf if leaf_count[leaf] == 1 else key}={_compact(value)}")
    return out


def _compact(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(_compact(v) for v in value) + "]"
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)
