"""The promotion gate: does a newly trained model (challenger) replace the champion?

Both are judged on the challenger's test window: forecast error (MAE) and the
strategy's Sharpe net of costs. The challenger must be no worse than
persistence, and strictly better than the champion on both counts (a tie keeps
the champion: replacing a model has a cost and proves nothing).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass

import pandas as pd

from stockflow.config import PromoteParams, UniversePromoteParams
from stockflow.ticker.forecast_metrics import forecast_metrics
from stockflow.trading.backtest import Rules, run_backtest
from stockflow.trading.optimise import trading_window
from stockflow.trading.performance import strategy_metrics
from stockflow.trading.settings import BacktestParams


@dataclass(frozen=True)
class Scores:
    """A model's test-window figures the gate compares: its MAE, persistence's MAE, the strategy's net Sharpe."""

    mae: float
    persistence_mae: float
    sharpe: float

    @property
    def mae_ratio(self) -> float:
        return self.mae / self.persistence_mae


@dataclass(frozen=True)
class Decision:
    """The gate's verdict, its reason in words, and the scores behind it."""

    promote: bool
    reason: str
    challenger: Scores
    champion: Scores | None

    def figures(self) -> dict[str, float]:
        """The scores behind the decision, as `challenger_mae`, `champion_sharpe`, ..."""
        out = {f"challenger_{k}": v for k, v in asdict(self.challenger).items()}
        out["challenger_mae_ratio"] = self.challenger.mae_ratio
        if self.champion is not None:
            out |= {f"champion_{k}": v for k, v in asdict(self.champion).items()}
            out["champion_mae_ratio"] = self.champion.mae_ratio
        return out


def decide(challenger: Scores, champion: Scores | None, gate: PromoteParams) -> Decision:
    """Promote only a challenger no worse than persistence and, when a champion exists, better on both counts."""
    if challenger.mae_ratio > gate.max_mae_ratio:
        return Decision(
            False,
            f"worse than persistence: MAE ratio {challenger.mae_ratio:.4f} > {gate.max_mae_ratio}",
            challenger,
            champion,
        )
    if champion is None:
        return Decision(True, "first model, no worse than persistence", challenger, None)
    failures = []
    if not challenger.mae < champion.mae * (1 - gate.min_mae_gain):
        failures.append(f"MAE {challenger.mae:.4f} not below champion's {champion.mae:.4f}")
    if not challenger.sharpe > champion.sharpe + gate.min_sharpe_gain:
        failures.append(f"Sharpe {challenger.sharpe:.3f} not above champion's {champion.sharpe:.3f}")
    if failures:
        return Decision(False, "; ".join(failures), challenger, champion)
    return Decision(
        True,
        f"beats the champion: MAE {challenger.mae:.4f} < {champion.mae:.4f}, "
        f"Sharpe {challenger.sharpe:.3f} > {champion.sharpe:.3f}",
        challenger,
        champion,
    )


def score_window(prices: pd.DataFrame, frame: pd.DataFrame, forecast: pd.Series, p: BacktestParams) -> Scores:
    """Forecast error and net strategy Sharpe of `forecast` on the days of `frame` (date, target_date, close, actual).

    The strategy trades under the params' rules, so challenger and champion are judged alike.
    """
    frame = frame.assign(forecast=pd.Series(forecast).to_numpy())
    rules = Rules.from_params(p)
    window = trading_window(prices, frame)
    traded = run_backtest(window.bars, window.signals(p.threshold, p.allow_short), rules)
    return Scores(
        mae=forecast_metrics(frame["actual"], frame["forecast"], frame["close"])["mae"],
        persistence_mae=forecast_metrics(frame["actual"], frame["close"], frame["close"])["mae"],
        sharpe=strategy_metrics(traded, rules.cash, p.risk_free_rate)["sharpe"],
    )


def forecasts_on(forecast: Callable[[pd.DataFrame], pd.DataFrame], prices: pd.DataFrame, days: pd.Series) -> pd.Series:
    """A forecaster's next-close forecasts for `days`, from the raw bars up to the last of them.

    `forecast` is anything that maps raw bars to a frame with `date` and `forecast`
    columns: a `Forecaster`'s method or a registered model's `predict`.
    """
    days = pd.DatetimeIndex(pd.to_datetime(days))
    out = forecast(prices[prices["Date"] <= days.max()]).set_index("date")["forecast"]
    found = out.reindex(days)
    if found.isna().any():
        raise ValueError(f"the model cannot forecast {int(found.isna().sum())} of the days (too little history)")
    return found


@dataclass(frozen=True)
class RankDecision:
    """A universe's gate verdict, its reason in words, and the Rank IC summaries behind it: the shape of `Decision`."""

    promote: bool
    reason: str
    challenger: dict
    champion: dict | None

    def figures(self) -> dict[str, float]:
        """The Rank ICs behind the decision, as `challenger_rank_ic`, `challenger_rank_ic_t`, `champion_rank_ic`."""
        out = {"challenger_rank_ic": self.challenger["mean"], "challenger_rank_ic_t": self.challenger["t_stat"]}
        return out if self.champion is None else {**out, "champion_rank_ic": self.champion["mean"]}


def decide_universe(challenger: dict, champion: dict | None, gate: UniversePromoteParams,
                    baseline: tuple[str, dict] | None = None) -> RankDecision:  # fmt: skip
    """The universe gate on the challenger's test window: its mean Rank IC positive with a t-statistic of at least
    `gate.min_rank_ic_t`; above the best naive baseline's (`baseline`: its name and summary, the baseline chosen on
    validation, scored on the same test days), else that baseline should be traded instead; and, when a champion
    exists, at least the champion's on the same days plus the margin.

    `challenger`, `champion` and the baseline's are Rank IC summaries (`stockflow.universe.ranking.summary`).
    """
    return RankDecision(*_universe_verdict(challenger, champion, gate, baseline), challenger, champion)


def _universe_verdict(challenger: dict, champion: dict | None, gate: UniversePromoteParams,
                      baseline: tuple[str, dict] | None) -> tuple[bool, str]:  # fmt: skip
    mean, t = challenger["mean"], challenger["t_stat"]
    if mean is None or t is None:  # scores that rank nothing (a constant model): no Rank IC at all
        return False, f"no Rank IC (the scores rank nothing): needs > 0 with t >= {gate.min_rank_ic_t:g}"
    if not (mean == mean and mean > 0 and t >= gate.min_rank_ic_t):
        return False, f"Rank IC {mean:.4f} (t {t:.2f}) is not a signal: needs > 0 with t >= {gate.min_rank_ic_t:g}"
    if baseline is not None:
        name, theirs = baseline[0], baseline[1]["mean"]
        if theirs is not None and not mean > theirs:
            label = name.replace("_", " ")
            return False, (f"Rank IC {mean:.4f} not above {label}'s {theirs:.4f} on the same test days: "
                           f"trade {label} instead")  # fmt: skip
    if champion is None:
        return True, f"first model: Rank IC {mean:.4f} (t {t:.2f})"
    theirs = champion["mean"]
    if not mean >= theirs + gate.min_rank_ic_gain:
        return False, f"Rank IC {mean:.4f} not above the champion's {theirs:.4f} on the same days"
    return True, f"beats the champion: Rank IC {mean:.4f} >= {theirs:.4f} on the same days (t {t:.2f})"
