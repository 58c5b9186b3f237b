"""The handful of figures that say how a run went, under short names, in units that read well rounded.

They head the MLflow run (`Headline/<name>`: the capital sorts the section first in
MLflow's chart view and column picker), fill `metrics/<ticker>.json` for
`dvc exp show` and `dvc metrics diff`, and make the rows of `stockflow runs` and
the watchlist table. The full detail stays under each stage's prefix.

Ratios are given in percent: MLflow's charts label bars with two decimals, and an
MAE ratio of 0.997 would read 1.00 where 99.70 says what it means.
"""

from __future__ import annotations

# In the order people read them: the forecast against persistence, then the strategy against holding.
NAMES = (
    "mae_pct",
    "dm_p",
    "cover_pct",
    "winkler_pct",
    "sharpe",
    "return_pct",
    "bh_return_pct",
    "max_dd_pct",
    "promoted",
)
MEANING = {
    "mae_pct": "the model's MAE as a % of persistence's on the test window (below 100 beats tomorrow = today)",
    "dm_p": "Diebold-Mariano p-value of the model against persistence (small: the difference is not noise)",
    "cover_pct": "the share of test days inside the model's interval for the next close, in % (aim: its level)",
    "winkler_pct": "the model interval's Winkler score as a % of the better baseline's, Gaussian or GARCH (below 100 "
    "beats both)",
    "sharpe": "the strategy's Sharpe ratio, net of costs",
    "return_pct": "the strategy's total return, net of costs, in %",
    "bh_return_pct": "Buy-and-Hold's total return on the same bars with the same costs, in %",
    "max_dd_pct": "the strategy's deepest fall from a peak, in %",
    "promoted": "1 if the gate made this run's model champion (or did, for an identical model), else 0",
}
# A universe's run heads with how its scores rank the next day's returns, and how its portfolio traded.
UNIVERSE_NAMES = ("rank_ic", "rank_ic_t", "ic", "icir", "excess_pct", "ir", "sharpe", "max_dd_pct", "promoted")
UNIVERSE_MEANING = {
    "rank_ic": "the mean daily Rank IC of the scores with the next day's returns on the test window (above 0 ranks)",
    "rank_ic_t": "its t-statistic over the test days (the gate asks for 2 or more)",
    "ic": "the mean daily IC (Pearson) on the test window",
    "icir": "the Rank IC's mean over its spread",
    "excess_pct": "the portfolio's annual return over equal weight of the universe, net of costs, in %",
    "ir": "the information ratio of that excess return",
    "sharpe": "the portfolio's Sharpe ratio, net of costs",
    "max_dd_pct": "the portfolio's deepest fall from a peak, in %",
    "promoted": "1 if the gate made this run's model champion (or did, for an identical model), else 0",
}
MLFLOW_PREFIX = "Headline/"


def headline(evaluate: dict, backtest: dict, promote: dict | None = None) -> dict[str, float | None]:
    """The headline figures from the evaluate, backtest and (when it ran) promote reports."""
    strategy, hold = backtest["strategy"], backtest["buy_and_hold"]
    # Rounded to what can be told apart (the full precision stays under each stage's prefix). A figure that
    # does not exist stays None: the DM test has no p-value when the model's forecasts are persistence's.
    out = {
        "mae_pct": _round(evaluate["mae_ratio"], 2, 100),
        "dm_p": _round(evaluate["dm_pvalue"], 4),
        **_interval(evaluate.get("interval")),
        "sharpe": _round(strategy["sharpe"], 3),
        "return_pct": _round(strategy["total_return"], 2, 100),
        "bh_return_pct": _round(hold["total_return"], 2, 100),
        "max_dd_pct": _round(strategy["max_drawdown"], 2, 100),
    }
    if promote is not None:
        out["promoted"] = 1.0 if promote["promote"] else 0.0
    return out


def universe_headline(evaluate: dict, backtest: dict, promote: dict | None = None) -> dict[str, float | None]:
    """The headline figures of a universe's run from its evaluate, backtest and (when it ran) promote reports."""
    card, traded = evaluate["test"]["model"], backtest["test"]["model"]
    out = {
        "rank_ic": _round(card["rank_ic"]["mean"], 4),
        "rank_ic_t": _round(card["rank_ic"]["t_stat"], 2),
        "ic": _round(card["ic"]["mean"], 4),
        "icir": _round(card["rank_ic"]["icir"], 3),
        "excess_pct": _round(traded["excess_return"], 2, 100),
        "ir": _round(traded["information_ratio"], 3),
        "sharpe": _round(traded["sharpe"], 3),
        "max_dd_pct": _round(traded["max_drawdown"], 2, 100),
    }
    if promote is not None:
        out["promoted"] = 1.0 if promote["promote"] else 0.0
    return out


def _interval(scores: dict | None) -> dict[str, float | None]:
    """The interval's two headline figures (none for an evaluate summary from before intervals)."""
    if not scores:
        return {}
    return {
        "cover_pct": _round(scores["model"]["coverage"], 2, 100),
        "winkler_pct": _round(scores["winkler_ratio"], 2, 100),
    }


def _round(value: float | None, digits: int, scale: float = 1.0) -> float | None:
    if value is None or value != value:  # None from strict JSON, or NaN
        return None
    return round(float(value) * scale, digits)


def for_mlflow(figures: dict[str, float]) -> dict[str, float]:
    """The headline figures under their MLflow names (`Headline/mae_pct`, ...); other keys are left out."""
    return {f"{MLFLOW_PREFIX}{k}": v for k, v in figures.items() if k in NAMES or k in UNIVERSE_NAMES}


def from_mlflow(metrics: dict[str, float]) -> dict[str, float]:
    """The headline figures among a run's MLflow metrics, under their short names, in reading order."""
    return {k: metrics[f"{MLFLOW_PREFIX}{k}"] for k in NAMES if f"{MLFLOW_PREFIX}{k}" in metrics}


def side_by_side(recorded: dict[str, float], new: dict[str, float]) -> tuple[str, str | None]:
    """A table of two runs' headline figures, and the first that differs (`sharpe: 0.412 -> 0.398 (-0.014)`) or None.

    Figures are compared as recorded (rounded, see `headline`): equal means equal to the digit a person reads.
    A figure one run has and the other lacks is a difference too.
    """
    rows, first = [f"  {'figure':<14}{'recorded':>12}{'reproduced':>12}"], None
    for name in [n for n in NAMES if n in recorded or n in new]:
        old, now = recorded.get(name), new.get(name)
        same = old == now
        rows.append(f"  {name:<14}{_show(old):>12}{_show(now):>12}{'' if same else '   <- differs'}")
        if not same and first is None:
            delta = f" ({now - old:+g})" if old is not None and now is not None else ""
            first = f"{name}: {_show(old)} -> {_show(now)}{delta}"
    return "\n".join(rows), first


def _show(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"
