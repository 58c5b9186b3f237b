"""A universe's scores traded as a portfolio, honestly: Qlib's TopkDropout, chosen on validation, traded once.

Each day, at the close, the top `k` names by score are wanted, but at most `n` held names are
replaced (Qlib's TopkDropout: the held names among the `n` worst of held-and-best-new are sold,
as many of the best new ones bought). The held names get equal weights, or risk-based ones
from skfolio (`inverse_volatility`: skfolio's InverseVolatility on the trailing returns of the
held names; no optimiser is written here). The decision is made at the close and filled at the
next open, or, for close-only data, at the next close: a day's scores never trade on that
day's close. Every change of weight pays commission and slippage on the value traded.

Beside it, with the same costs: equal weight of the whole universe rebalanced on the first
trading day of each month, and any other scores (a baseline's) traded by the same rules.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import product
from typing import Any

import numpy as np
import pandas as pd

from stockflow.universe.panel import Panel

TRADING_DAYS = 252
WEIGHTINGS = ("equal", "inverse_volatility")
UNIVERSE = "universe"  # the rule that holds every name in equal weights (Rules.universe)
RISK_DAYS = 60  # trailing days of returns the risk-based weights are estimated on


@dataclass(frozen=True)
class Rules:
    """How a portfolio is held: k names, at most n replaced a day, weighted so; costs on every change of weight."""

    k: int
    n: int
    weighting: str = "equal"
    commission: float = 0.0
    slippage: float = 0.0
    every: int = 1  # decide every this many days (a label's horizon): fewer trades, fewer costs

    @classmethod
    def universe(cls, commission: float = 0.0, slippage: float = 0.0) -> Rules:
        """Hold the whole universe in equal weights, rebalanced monthly: what is held when no rule beats it."""
        return cls(0, 0, UNIVERSE, commission, slippage)

    @property
    def holds_universe(self) -> bool:
        return self.weighting == UNIVERSE

    def label(self) -> str:
        if self.holds_universe:
            return "equal weight, monthly"
        every = f", every {self.every} days" if self.every > 1 else ""
        return f"top {self.k}, {self.n}/day, {self.weighting.replace('_', ' ')}{every}"


def topk_dropout(score: np.ndarray, held: Sequence[int], k: int, n: int) -> list[int]:
    """The names held after today's close: Qlib's TopkDropoutStrategy on one day's scores (NaN: not rankable).

    A held name without a score today counts as the worst (it is sold first).
    """
    key = np.where(np.isnan(score), -np.inf, score)
    last = sorted(held, key=lambda i: -key[i])
    new = [int(i) for i in np.argsort(-key, kind="stable") if i not in set(held) and not np.isnan(score[i])]
    today = new[: max(0, n + k - len(last))]
    comb = sorted(last + today, key=lambda i: -key[i])
    worst = set(comb[-n:]) if n > 0 else set()
    sell = [i for i in last if i in worst or np.isnan(score[i])]
    buy = today[: len(sell) + k - len(last)]
    return [i for i in last if i not in sell] + buy


def equal_weights(held: Sequence[int], trailing: np.ndarray) -> np.ndarray:
    return np.full(len(held), 1.0 / len(held)) if len(held) else np.zeros(0)


def inverse_volatility(held: Sequence[int], trailing: np.ndarray) -> np.ndarray:
    """skfolio's InverseVolatility on the held names' trailing simple returns (equal weights until there are enough)."""
    from skfolio.optimization import InverseVolatility

    returns = trailing[:, list(held)]
    returns = returns[~np.isnan(returns).any(axis=1)]
    if len(held) < 2 or len(returns) < 20:
        return equal_weights(held, trailing)
    return np.asarray(InverseVolatility().fit(np.expm1(returns)).weights_, dtype=float)


WEIGHERS: dict[str, Callable[[Sequence[int], np.ndarray], np.ndarray]] = {
    "equal": equal_weights,
    "inverse_volatility": inverse_volatility,
}


def topk_targets(scores: np.ndarray, returns: np.ndarray, days: np.ndarray, rules: Rules) -> np.ndarray:
    """(T, N) target weights decided at the close of each date in `days` (NaN rows: no decision that day)."""
    targets = np.full(scores.shape, np.nan)
    held: list[int] = []
    weigh = WEIGHERS[rules.weighting]
    for j, t in enumerate(days):
        if j % rules.every:
            continue  # between decisions the names are held as they are
        held = topk_dropout(scores[t], held, rules.k, rules.n)
        row = np.zeros(scores.shape[1])
        if held:
            row[held] = weigh(held, returns[max(0, t - RISK_DAYS + 1) : t + 1])
        targets[t] = row
    return targets


def monthly_equal_targets(panel: Panel, days: np.ndarray) -> np.ndarray:
    """Equal weight of every name with a bar, decided on the first trading day of each month (and the first day)."""
    targets = np.full(panel.close.shape, np.nan)
    months = pd.DatetimeIndex(panel.dates[days]).to_period("M")
    for j, t in enumerate(days):
        if j == 0 or months[j] != months[j - 1]:
            alive = ~np.isnan(panel.close[t])
            targets[t] = np.where(alive, 1.0 / max(alive.sum(), 1), 0.0)
    return targets


@dataclass(frozen=True)
class Traded:
    """A portfolio's path over its window: equity at each close, daily returns, turnover and costs."""

    equity: pd.Series  # value at each close, from 1.0 at the close before the first fill
    returns: pd.Series  # daily simple returns, net of costs
    turnover: pd.Series  # one-way value traded per day, as a share of the equity
    costs: pd.Series  # costs paid per day, as a share of the equity


def simulate(panel: Panel, targets: np.ndarray, days: np.ndarray, commission: float, slippage: float) -> Traded:
    """Hold the `targets` decided at the close of each date in `days` (NaN rows: no trade), filled at the next open
    (the next close for close-only data), from the first fill through the fill of the last decision.

    Each day: the weights held grow from yesterday's close to the fill price; a decision of yesterday's close is
    filled there, paying commission and slippage on the value traded; the new weights grow to today's close. A
    share not held is cash and earns nothing; a name without a bar that day does not move (no price is known).
    """
    fill = panel.close if panel.close_only else panel.open
    held = np.zeros(panel.close.shape[1])
    dates, rets, turns, paid = [], [], [], []
    for t in range(int(days[0]) + 1, min(int(days[-1]) + 2, len(panel.dates))):
        held, before = _grown(held, _growth(panel.close[t - 1], fill[t]))
        turn = cost = 0.0
        target = targets[t - 1]
        if not np.isnan(target).all():
            target = _fillable(np.nan_to_num(target), held, fill[t])
            traded = float(np.abs(target - held).sum())
            turn, cost = traded / 2, traded * (commission + slippage)
            held = target
        held, after = _grown(held, _growth(fill[t], panel.close[t]))
        growth = before * (1 - cost) * after
        dates.append(panel.dates[t]), rets.append(growth - 1.0), turns.append(turn), paid.append(cost)
    index = pd.DatetimeIndex(dates, name="date")
    returns = pd.Series(rets, index)
    return Traded((1 + returns).cumprod(), returns, pd.Series(turns, index), pd.Series(paid, index))


def _fillable(target: np.ndarray, held: np.ndarray, price: np.ndarray) -> np.ndarray:
    """`target` where a name can be traded today: a name without a fill price (no bar, or a masked one) keeps what
    is held of it, and the other names share what is left, never more than the target gave them."""
    stuck = np.isnan(price) & (target != held)
    if not stuck.any():
        return target
    out = np.where(stuck, held, target)
    free = ~stuck
    room, wanted = max(1.0 - out[stuck].sum(), 0.0), out[free].sum()
    if wanted > room:
        out[free] *= room / wanted
    return out


def _growth(start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """Each name's growth factor between two prices; 1 where a price is missing (no bar: no move known)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        g = end / start
    return np.where(np.isfinite(g), g, 1.0)


def _grown(weights: np.ndarray, growth: np.ndarray) -> tuple[np.ndarray, float]:
    """The weights after each name grew by `growth` (cash stays cash), and the book's growth factor."""
    factor = 1.0 - weights.sum() + float(weights @ growth)
    return weights * growth / factor, factor


def metrics(traded: Traded, benchmark: Traded | None = None) -> dict[str, float]:
    """Annual return, Sharpe, max drawdown, turnover and cost drag; beside a benchmark, the annual excess return and
    the information ratio."""
    r = traded.returns
    years = len(r) / TRADING_DAYS
    total = float(traded.equity.iloc[-1]) if len(r) else 1.0
    peak = traded.equity.cummax()
    out = {
        "annual_return": total ** (1 / years) - 1 if years > 0 else 0.0,
        "total_return": total - 1,
        "sharpe": _ratio(r),
        "max_drawdown": float((traded.equity / peak - 1).min()) if len(r) else 0.0,
        "turnover": float(traded.turnover.mean()) if len(r) else 0.0,
        "cost_drag": float(traded.costs.mean() * TRADING_DAYS) if len(r) else 0.0,
        "days": float(len(r)),
    }
    if benchmark is not None:
        excess = r - benchmark.returns.reindex(r.index).fillna(0.0)
        out["excess_return"] = float(excess.mean() * TRADING_DAYS)
        out["information_ratio"] = _ratio(excess)
    return out


def _ratio(r: pd.Series) -> float:
    std = float(r.std(ddof=1)) if len(r) > 1 else 0.0
    return float(r.mean() / std * np.sqrt(TRADING_DAYS)) if std > 0 else 0.0


def candidates(ks: Sequence[int], ns: Sequence[int], weightings: Sequence[str], commission: float,
               slippage: float, horizon: int = 1, every: Sequence[int] = ()) -> list[Rules]:  # fmt: skip
    """Every (k, n, weighting) with n <= k, deciding every day, for a longer label every `horizon` days, and every
    one of `every`'s days (held between: fewer trades, fewer costs)."""
    everys = sorted({1, horizon, *every})
    return [Rules(k, n, w, commission, slippage, e) for k, n, w, e in product(ks, ns, weightings, everys) if n <= k]


def choose(panel: Panel, scores: np.ndarray, days: np.ndarray, grid: Sequence[Rules], objective: str,
           benchmark: Traded, min_information_ratio: float = -np.inf) -> tuple[Rules, pd.DataFrame]:  # fmt: skip
    """The rules with the best `objective` on `days` (the validation window) if they beat equal weight there by an
    information ratio above `min_information_ratio`, else equal weight itself (`Rules.universe`); and every
    candidate's figures, equal weight's last, `chosen` marking the one held."""
    returns = panel.returns()
    rows = []
    for rules in grid:
        traded = simulate(panel, topk_targets(scores, returns, days, rules), days, rules.commission, rules.slippage)
        rows.append({"k": rules.k, "n": rules.n, "weighting": rules.weighting, "every": rules.every,
                     **metrics(traded, benchmark)})  # fmt: skip
    table = pd.DataFrame(rows).sort_values(objective, ascending=False, kind="stable").reset_index(drop=True)
    best = table.iloc[0]
    key = lambda r: (r.k, r.n, r.weighting, r.every)  # noqa: E731
    chosen = next(r for r in grid if key(r) == key(best))
    if not best["information_ratio"] > min_information_ratio:
        chosen = Rules.universe(chosen.commission, chosen.slippage)
    held = {"k": 0, "n": 0, "weighting": UNIVERSE, "every": 1, **metrics(benchmark, benchmark)}
    table = pd.concat([table, pd.DataFrame([held])], ignore_index=True)
    table["chosen"] = [key(r) == key(chosen) for r in table.itertuples()]
    return chosen, table


def choose_on_validation(panel: Panel, scores: np.ndarray, val: np.ndarray, grid: Sequence[Rules], objective: str,
                         min_information_ratio: float) -> tuple[Rules, pd.DataFrame]:  # fmt: skip
    """`choose` on the validation dates `val`, reading no price or score after them: the last decision is the one
    filled on the last validation day."""
    decide = val[:-1]
    costs = (grid[0].commission, grid[0].slippage) if grid else (0.0, 0.0)
    return choose(panel, scores, decide, grid, objective, equal_weight(panel, decide, *costs), min_information_ratio)


def targets(panel: Panel, scores: np.ndarray, days: np.ndarray, rules: Rules) -> np.ndarray:
    """(T, N) the weights `rules` decide at the close of each of `days` (NaN rows: no decision that day)."""
    if rules.holds_universe:
        return monthly_equal_targets(panel, days)
    return topk_targets(scores, panel.returns(), days, rules)


def trade(panel: Panel, scores: np.ndarray, days: np.ndarray, rules: Rules) -> Traded:
    """The scores traded by `rules` over `days`."""
    return simulate(panel, targets(panel, scores, days, rules), days, rules.commission, rules.slippage)


def equal_weight(panel: Panel, days: np.ndarray, commission: float, slippage: float) -> Traded:
    """The universe in equal weights, rebalanced monthly, with the same costs."""
    return simulate(panel, monthly_equal_targets(panel, days), days, commission, slippage)


def last_targets(panel: Panel, scores: np.ndarray, days: np.ndarray, rules: Rules) -> np.ndarray:
    """(T, N) the target weights the rules decide on each of `days` (what the registered model serves): for
    equal weight, every name with a bar that day, each day."""
    if rules.holds_universe:
        alive = ~np.isnan(panel.close[days])
        out = np.zeros(panel.close.shape)
        out[days] = alive / np.maximum(alive.sum(axis=1, keepdims=True), 1)
        return out
    decided = topk_targets(scores, panel.returns(), days, rules)
    if rules.every > 1:  # between decisions, the last decision's weights are the target
        decided[days] = pd.DataFrame(decided[days]).ffill().to_numpy()
    return np.nan_to_num(decided)


def summary_row(label: str, m: dict[str, Any]) -> str:
    """One line of the portfolio table."""
    excess = "" if "excess_return" not in m else f"{m['excess_return']:>+9.1%}{m['information_ratio']:>7.2f}"
    return (f"  {label:<26}{m['annual_return']:>8.1%}{excess:>16}{m['sharpe']:>8.2f}{m['max_drawdown']:>9.1%}"
            f"{m['turnover']:>9.1%}{m['cost_drag']:>8.2%}")  # fmt: skip
