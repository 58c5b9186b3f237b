"""A universe: a named list of tickers trained as one, each day's names ranked, a portfolio traded on the ranks.

The stages `universe_validate -> ... -> universe_promote`, once per universe of params.yaml's
`data.universes` (docs/universes.md); its model is registered as `stockflow-universe-<name>`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stockflow.config import UNIVERSE_KEYS
from tasks.kinds.base import Checked, Kind, Study, Subject
from tasks.stages import (
    universe_backtest,
    universe_evaluate,
    universe_preprocess,
    universe_promote,
    universe_train,
    universe_validate,
)

if TYPE_CHECKING:
    from stockflow.config import Params, TrainParams

NODES = (
    universe_validate,
    universe_preprocess,
    universe_train,
    universe_evaluate,
    universe_backtest,
    universe_promote,
)  # the stage modules, in order


class Universe(Kind):
    name = "universe"
    nodes = NODES
    stages = tuple(m.STAGE for m in NODES)
    listing = "universes"
    prefix = universe_promote.PREFIX
    closes_only = True

    def label(self, name: str) -> str:
        return f"universe {name}"

    def subject(self, name: str, universes: Mapping[str, tuple[str, ...]]) -> Subject:
        """Its tickers from `universes`; none when it is not defined there (its data gate refuses it)."""
        return Subject(name, tuple(universes.get(name, ())), self)

    def checked(self, params: Params, name: str) -> Subject:
        return Subject(name, universe_validate.tickers_of(params, name), self)

    def reads(self, key: str) -> bool:
        return key.startswith(UNIVERSE_KEYS)

    def records(self, key: str) -> bool:
        return self.reads(key) or key.startswith(("universes.", "preset", "data.", "mlflow."))

    def train_params(self, params: Params) -> TrainParams:
        return params.universe.train

    def model_settings(self, params: Params) -> dict[str, Any]:
        u = params.universe
        return {"preprocess": u.preprocess.model_dump(mode="json"), "train": u.train.model_dump(mode="json")}

    def data_md5(self, name: str, files: dict[str, str]) -> str:
        """One md5 for the universe's files' md5s, equal when every file is."""
        return hashlib.md5("".join(f"{t}:{digest}\n" for t, digest in sorted(files.items())).encode()).hexdigest()

    def headline(self, done: dict[str, dict], promote: dict | None = None) -> dict[str, float | None]:
        from stockflow.reporting.headline import universe_headline

        if {"universe_evaluate", "universe_backtest"} <= done.keys():
            return universe_headline(done["universe_evaluate"], done["universe_backtest"], promote)
        return {}

    def summary(self, results: dict[str, Any]) -> str:
        from stockflow.reporting.summary import universe_summary

        return universe_summary(results)

    def predict(self, ws: Any, params: Params, name: str, allow_stale: bool) -> Any:
        from tasks.commands.universe import target_portfolio

        return target_portfolio(ws, params, name, allow_stale)

    def check(self, ws: Any, params: Params, name: str) -> Checked:
        from tasks.commands import universe

        report = universe.check(ws, params, name)
        return Checked(report, universe.text(report))

    @property
    def study(self) -> Study:
        from stockflow import tuning

        return Study(minimise=False, space=lambda p: p.tune.universe_space, objective=tuning.universe_objective,
                     lines=_lines)  # fmt: skip


def _lines(best: Any, tuned: dict, default: dict) -> list[str]:
    """A universe's study, read on its Rank IC on validation and test, beside the best naive baseline."""
    rank = lambda r, w: r["universe_evaluate"][w]["model"]["rank_ic"]["mean"]  # noqa: E731
    (tv, tt), (dv, dt) = ((rank(r, "validation"), rank(r, "test")) for r in (tuned, default))
    base = default["universe_evaluate"]["best_baseline"]
    return [
        f"  Rank IC          best trial (validation) {best.value:.4f}",
        f"                   tuned: validation {tv:.4f} -> test {tt:.4f}; default: {dv:.4f} -> {dt:.4f}",
        f"  selection bias   from validation to test the tuned Rank IC moved {tt - tv:+.4f}, the default's "
        f"{dt - dv:+.4f}: the search's own share {(tt - tv) - (dt - dv):+.4f} (below 0: validation overstated it)",
        f"  beside           the best naive baseline on validation, {base}: test Rank IC "
        f"{default['universe_evaluate']['test'][base]['rank_ic']['mean']:.4f}",
    ]


UNIVERSE = Universe()
