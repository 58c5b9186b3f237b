"""One ticker: its price file validated, windows of its features, a forecaster of its next close, strategies on it.

The stages `validate -> preprocess -> train -> evaluate -> backtest -> promote`, once per ticker of
params.yaml's `data.tickers`; its model is registered as `stockflow-<ticker>`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from stockflow.errors import check_ticker
from tasks.kinds.base import Checked, Kind, Study, Subject
from tasks.stages import backtest, evaluate, preprocess, promote, train, validate

if TYPE_CHECKING:
    from stockflow.config import Params, TrainParams

NODES = (validate, preprocess, train, evaluate, backtest, promote)  # the stage modules, in order


class Ticker(Kind):
    name = "ticker"
    nodes = NODES
    stages = tuple(m.STAGE for m in NODES)
    listing = "tickers"
    prefix = ""
    closes_only = False

    def tag(self, name: str) -> str:
        return name

    def subject(self, name: str, universes: Mapping[str, tuple[str, ...]] | None = None) -> Subject:
        return Subject(name, (name,), self)

    def checked(self, params: Params, name: str) -> Subject:
        return self.subject(check_ticker(name))

    def tagged_tickers(self, subject: Subject) -> None:
        return None

    def reads(self, key: str) -> bool:
        # The tuner's settings make no run's model; the universes' are another kind's.
        return not key.startswith(("universe.", "universes.", "tune."))

    def train_params(self, params: Params) -> TrainParams:
        return params.train

    def model_settings(self, params: Params) -> dict[str, Any]:
        return {"preprocess": params.preprocess.model_dump(mode="json"), "train": params.train.model_dump(mode="json")}

    def data_said(self, name: str, tickers: tuple[str, ...]) -> str:
        return f"data/{name}.csv"

    def data_md5(self, name: str, files: dict[str, str]) -> str:
        return files[name]

    def headline(self, done: dict[str, dict], promote: dict | None = None) -> dict[str, float | None]:
        from stockflow.reporting.headline import headline

        return headline(done["evaluate"], done["backtest"], promote) if {"evaluate", "backtest"} <= done.keys() else {}

    def summary(self, results: dict[str, Any]) -> str:
        from stockflow.reporting.summary import run_summary

        return run_summary(results)

    def study_data(self, name: str, frames: dict[str, Any]) -> Any:
        return frames[name]

    def predict(self, ws: Any, params: Params, name: str, allow_stale: bool) -> Any:
        from tasks.commands.predict import next_day

        return next_day(ws, params, name, allow_stale)

    def check(self, ws: Any, params: Params, name: str) -> Checked:
        from tasks.commands.monitor import check
        from tasks.services.files import strict

        report = check(ws, params, name)
        return Checked(strict(report.to_dict()), report.text())

    @property
    def study(self) -> Study:
        from stockflow import tuning

        return Study(minimise=True, space=lambda p: p.tune.space, objective=tuning.ticker_objective, lines=_lines)


def _lines(best: Any, tuned: dict, default: dict) -> list[str]:
    """A ticker's study, read on its validation loss and the test window's."""
    (tv, tt), (dv, dt) = ((r["evaluate"]["val_loss"], r["evaluate"]["test_loss"]) for r in (tuned, default))
    return [
        f"  validation loss  best trial {best.value:.4f} (MSE of the scaled target)",
        f"                   tuned: validation {tv:.4f} -> test {tt:.4f} ({tt / tv - 1:+.1%}); default: "
        f"{dv:.4f} -> {dt:.4f} ({dt / dv - 1:+.1%})",
        f"  selection bias   the search's own share of the gap: {(tt / tv) - (dt / dv):+.1%} of the validation "
        "loss (above 0: the best trial's validation figure overstates the test's; the default's gap, chosen by "
        "nobody, is the yardstick)",
        f"  MAE / persist.   test: tuned {tuned['evaluate']['mae_ratio']:.4f}, default "
        f"{default['evaluate']['mae_ratio']:.4f}, persistence 1",
    ]


TICKER = Ticker()
