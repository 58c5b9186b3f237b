"""Stage `universe_backtest`: the universe's scores traded as a portfolio (stockflow/universe/portfolio.py), honestly.

TopkDropout's k, n and weighting are chosen on the validation window only, by
`universe.portfolio.objective` against equal weight, and traded only when they beat equal weight
there by an information ratio above `universe.portfolio.min_information_ratio`, net of costs;
otherwise the portfolio holds equal weight itself. Then the test window is traded once
with them: decided at the close, filled at the next open (the next close for close-only
data), commission and slippage (backtest.commission, backtest.slippage) on every change of
weight. Beside it, with the same costs: equal weight of the universe rebalanced monthly,
and the best baseline's scores (by validation Rank IC) traded by the same rules. The
ranker is written again with its rules: the registered model serves its target weights.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd

from stockflow.config import Params
from stockflow.universe import portfolio
from tasks.services import catalog
from tasks.services.files import load_panel, read_json, save_figure, write_csv, write_json
from tasks.services.model_files import load_ranker, save_ranker
from tasks.services.workspace import Workspace

STAGE = catalog.Stage(
    "universe_backtest",
    "TopkDropout on the scores (k, n and the weighting chosen on the validation window), traded once on the "
    "test window beside equal weight and the best baseline, with costs on every change of weight",
    reads=(
        "universe_preprocess/panel.npz",
        "universe_evaluate/scores.npz",
        "universe_evaluate/summary.json",
        "universe_train/ranker.zip",
    ),
    writes=("ranker.zip", "equity.csv", "search.csv", "equity.png", catalog.SUMMARY),
    params=("universes", "universe.portfolio", "backtest.commission", "backtest.slippage"),
    logged=("equity.csv", "search.csv", "equity.png"),
)


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Choose the rules on validation, trade the test window once beside equal weight and the best baseline."""
    from stockflow.reporting import plots

    f = catalog.files(STAGE, ws, name)
    data = load_panel(f.input("universe_preprocess/panel.npz"))
    with np.load(f.input("universe_evaluate/scores.npz")) as z:
        scores = {k: z[k] for k in z.files}
    best_baseline = read_json(f.input("universe_evaluate/summary.json"))["best_baseline"]
    p, costs = params.universe.portfolio, (params.backtest.commission, params.backtest.slippage)
    panel, val, test = data.panel, data.split_days["val"], data.split_days["test"]
    grid = portfolio.candidates(p.ks, p.ns, p.weightings, *costs, data.transform.horizon, p.every)
    rules, search = portfolio.choose_on_validation(panel, scores["model"], val, grid, p.objective,
                                                   p.min_information_ratio)  # fmt: skip
    equal = portfolio.equal_weight(panel, test, *costs)
    top = search.iloc[0]  # the best TopkDropout rule: the baseline is traded by it even when the model holds the market
    best_rule = portfolio.Rules(int(top["k"]), int(top["n"]), str(top["weighting"]), *costs, int(top["every"]))
    traded = {"model": portfolio.trade(panel, scores["model"], test, rules),
              best_baseline: portfolio.trade(panel, scores[best_baseline], test, best_rule)}  # fmt: skip
    traded["equal_weight"] = equal
    report = {
        "chosen": {"k": rules.k, "n": rules.n, "weighting": rules.weighting, "every": rules.every},
        "objective": p.objective,
        "candidates": len(grid),
        "validation": {
            k: float(v) for k, v in search.iloc[0].items() if k not in ("k", "n", "weighting", "every", "chosen")
        },  # fmt: skip
        "holds_equal_weight": rules.holds_universe,  # no rule beat equal weight on validation by the margin
        "min_information_ratio": p.min_information_ratio,
        "test": {
            "model": portfolio.metrics(traded["model"], equal),
            "baseline": {"name": best_baseline, **portfolio.metrics(traded[best_baseline], equal)},
            "equal_weight": portfolio.metrics(equal),
        },
        "fills": "next close (close-only data)" if panel.close_only else "next open",
        "start": str(pd.Timestamp(panel.dates[test[0]]).date()),
        "end": str(pd.Timestamp(panel.dates[test[-1]]).date()),
    }
    ranker = load_ranker(f.input("universe_train/ranker.zip"))
    save_ranker(dataclasses.replace(ranker, rules=rules), f.output("ranker.zip"))
    equity = pd.DataFrame({k: v.equity for k, v in traded.items()})
    equity.index.name = "date"
    write_csv(equity, f.output("equity.csv"), index=True, float_format="%.8g")
    write_csv(search, f.output("search.csv"), float_format="%.6g")
    save_figure(plots.equity_curves(equity, f"{name}: {rules.label()} on the test window, net of costs"),
                f.output("equity.png"))  # fmt: skip
    write_json(f.output(catalog.SUMMARY), report)
    return report
