"""Strategy search: chosen on the validation window only, walk-forward chosen only on the past."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stockflow.trading.backtest import Rules
from stockflow.trading.optimise import Window, best, candidates, evaluate, search, trading_window, walk_forward

SPACE = {"threshold": [0.0, 0.002], "stop_loss": [None, 0.02], "take_profit": [None, 0.05]}
RULES = Rules(cash=10_000, commission=0.001)


def windows(sp500: pd.DataFrame, seed: int = 0) -> tuple[pd.DataFrame, Window, Window]:
    prices = sp500[sp500["Date"] >= "2012-01-01"].reset_index(drop=True).iloc[:700]
    close = prices["Close"].to_numpy()
    noise = np.random.default_rng(seed).normal(0, 0.01, len(close))
    forecasts = pd.DataFrame(
        {"date": prices["Date"].iloc[:-1], "target_date": prices["Date"].iloc[1:].to_numpy(),
         "close": close[:-1], "forecast": close[:-1] * np.exp(noise[:-1])}
    )  # fmt: skip
    return prices, trading_window(prices, forecasts.iloc[:300]), trading_window(prices, forecasts.iloc[300:])


def test_grid_is_every_combination_and_random_a_distinct_subset():
    from sklearn.model_selection import ParameterGrid

    assert candidates(SPACE, "grid") == list(ParameterGrid(SPACE))  # the same candidates in the same order
    assert len(candidates(SPACE, "grid")) == 8
    drawn = candidates(SPACE, "random", samples=5, seed=1)
    assert len(drawn) == 5 and len({tuple(sorted(d.items(), key=str)) for d in drawn}) == 5
    assert len(candidates(SPACE, "random", samples=50)) == 8  # more draws than combinations: the grid


@pytest.mark.parametrize("objective", ["sharpe", "calmar", "total_return"])
def test_search_ranks_by_the_objective(sp500, objective):
    _, val, _ = windows(sp500)
    table = search(val, candidates(SPACE, "grid"), RULES, objective)
    assert len(table) == 8
    assert table[objective].is_monotonic_decreasing
    assert best(table)["threshold"] == table["threshold"].iloc[0]


def test_the_choice_does_not_depend_on_the_test_window(sp500):
    prices, val, test = windows(sp500)
    chosen = best(search(val, candidates(SPACE, "grid"), RULES, "sharpe"))
    # Whatever happens in the test window, the same parameters are chosen.
    shaken = prices.copy()
    later = shaken["Date"] > val.bars["Date"].iloc[-1]
    shaken.loc[later, ["Open", "High", "Low", "Close"]] *= 0.5
    _, val2, _ = windows(shaken)
    assert best(search(val2, candidates(SPACE, "grid"), RULES, "sharpe")) == chosen


def test_walk_forward_chooses_each_fold_on_the_past_only(sp500):
    prices, val, test = windows(sp500)
    space = candidates(SPACE, "grid")
    folds, equity = walk_forward(val, test, 3, space, RULES, "sharpe")
    assert len(folds) == 3
    assert {k: folds[0][k] for k in ("threshold", "stop_loss", "take_profit")} == best(
        search(val, space, RULES, "sharpe")
    )
    assert len(equity) == len(test.bars) and equity.index.is_monotonic_increasing
    assert np.isclose(equity.iloc[-1], folds[-1]["final_equity"])
    # Change the last fold's forecasts: earlier folds keep their choices and results.
    f = test.forecasts.copy()
    f.loc[f.index[-100:], "forecast"] *= 1.5
    folds2, _ = walk_forward(val, trading_window(prices, f), 3, space, RULES, "sharpe")
    assert folds2[:2] == folds[:2]


def test_the_search_scores_every_candidate_as_if_traded_alone(sp500):
    # The search trades each threshold's stop pairs at once (stockflow.trading.stop_grid); each row must be the
    # figures of that candidate's own backtest.
    _, val, _ = windows(sp500)
    rules = Rules(cash=10_000, commission=0.001, slippage=0.0005)
    space = candidates(SPACE, "grid")
    table = search(val, space, rules, "sharpe")
    assert len(table) == len(space)
    for candidate in space:
        row = table[
            (table["threshold"] == candidate["threshold"])
            & (table["stop_loss"].fillna(0) == (candidate["stop_loss"] or 0))
            & (table["take_profit"].fillna(0) == (candidate["take_profit"] or 0))
        ]
        alone = evaluate(val, candidate, rules)
        assert len(row) == 1 and row.iloc[0][list(alone)].to_dict() == pytest.approx(alone, rel=1e-9)
