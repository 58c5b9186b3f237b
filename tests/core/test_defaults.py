"""One source of defaults: the typed params. params.yaml states them, and the engine and gate are built from them."""

from __future__ import annotations

from pathlib import Path

import yaml

from stockflow.config import BacktestParams, Params, PromoteParams, changes, parse_params
from stockflow.trading.backtest import Rules

REPO = Path(__file__).resolve().parents[2]


def test_params_yaml_states_the_model_defaults():
    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    assert parse_params(raw).model_dump() == Params().model_dump()


def test_rules_come_from_the_backtest_params_field_by_field():
    p = BacktestParams(cash=5000, commission=0.002, slippage=0.001, stop_loss=0.03, take_profit=None,
                       allow_short=True, whole_units=True)  # fmt: skip
    r = Rules.from_params(p)
    assert (r.cash, r.commission, r.slippage, r.stop_loss, r.take_profit, r.allow_short, r.whole_units) == (
        5000, 0.002, 0.001, 0.03, None, True, True)  # fmt: skip


def test_the_gate_is_the_promote_params():
    from stockflow.champion.promotion import Scores, decide

    strict = PromoteParams(max_mae_ratio=0.9)
    assert not decide(Scores(10.0, 10.5, 1.0), None, strict).promote
    assert decide(Scores(10.0, 10.5, 1.0), None, PromoteParams()).promote


def test_changes_name_what_differs_with_short_keys():
    base = parse_params({})
    p = parse_params({}, ["train.epochs=2", "backtest.stop_loss=null", "evaluate.walk_forward_folds=3",
                          "preprocess.features=[close, volume]"])  # fmt: skip
    a_tickers = lambda key: not key.startswith("universe.")  # noqa: E731 - what a ticker's run reads
    assert changes(p, base, a_tickers) == ["features=[close,volume]", "epochs=2", "evaluate.walk_forward_folds=3",
                                           "stop_loss=null"]  # fmt: skip
    # Read with a universe's settings too, a key is as long as keeps it apart from theirs.
    assert changes(p, base)[0] == "preprocess.features=[close,volume]"
    assert changes(base, base) == []
