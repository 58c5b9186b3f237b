"""A champion's check as the monitor records it: one typed object from which its JSON, its text, its MLflow
figures and its alarm (event, reason, payload) are all made, so no key is spelled twice."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from stockflow.champion.monitoring import Check, due
from stockflow.monitors import by_verdict

ALARM_PREFIX = "stockflow.champion."  # the alarm's Prefect event: stockflow.champion.<verdict>
# The keys `stockflow monitor --json` promises; the rest of the object may grow.
CONTRACT = ("ticker", "version", "live_days", "live_mae_ratio", "test_mae_ratio", "decay", "drift", "verdict",
            "interval_level", "live_coverage", "coverage_pvalue", "miscovered")  # fmt: skip


@dataclass(frozen=True)
class Report:
    """One check of `ticker`'s champion (version `version`), with what it was trained on and what it traded live."""

    ticker: str
    version: int
    check: Check
    data_through: str
    trained_at: str
    champion_run_id: str | None
    strategy: dict[str, dict[str, float]]  # the live days traded under the run's rules, and Buy-and-Hold
    checked_at: str
    alarm: bool = False
    run_id: str | None = None  # the monitor run, once recorded
    seconds: float | None = None

    @classmethod
    def made(cls, ticker: str, version: int, check: Check, alarms_before: set[str], days_since_alarm: int | None,
             cooldown_days: int, **about: Any) -> Report:  # fmt: skip
        """The report of a check, with whether it raises an alarm given the champion's earlier alarms."""
        statistic = by_verdict(check.verdict)
        alarm = statistic is not None and due(check.decided_by, statistic.once, check.verdict in alarms_before,
                                              days_since_alarm, cooldown_days)  # fmt: skip
        return cls(ticker, version, check, alarm=alarm, **about)

    def to_dict(self) -> dict[str, Any]:
        """The report as `stockflow monitor --json` gives it (and `check.json` keeps it)."""
        return {"ticker": self.ticker, "version": self.version, **self.check.figures, "alarm": self.alarm,
                "data_through": self.data_through, "trained_at": self.trained_at,
                "champion_run_id": self.champion_run_id, "strategy": self.strategy, "checked_at": self.checked_at,
                "run_id": self.run_id, "seconds": self.seconds}  # fmt: skip

    def __getitem__(self, key: str) -> Any:
        return self.to_dict()[key]

    def keys(self):
        return self.to_dict().keys()

    # --- what the record says ----------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """The monitor run's figures: the live days', each statistic's, the live strategy's."""
        c = self.check
        out = {f"Monitor/{k}": v for k, v in (("live_days", c.live_days), ("test_mae_ratio", c.test_mae_ratio),
                                               ("live_dm_pvalue", c.live_dm_pvalue)) if v is not None}  # fmt: skip
        for finding in c.findings.values():
            out |= {k: v for k, v in finding.metrics.items() if v is not None}
        for side, m in self.strategy.items():
            out |= {f"live/{side}.{k}": v for k, v in m.items()}
        return out

    def series(self, trail) -> dict[str, np.ndarray]:
        """Figures stepped per live day (the champion ageing): from the live days' table and each statistic."""
        out = {"Monitor/live_mae_ratio": trail["cum_mae_ratio"].to_numpy(),
               "Monitor/cum_error_vs_persistence": trail["cum_error_vs_persistence"].to_numpy()}  # fmt: skip
        for finding in self.check.findings.values():
            out |= finding.series
        return out

    def text(self) -> str:
        """The check in a few lines, as the terminal and the run's description show it."""
        c = self.check
        ratio = lambda v: "n/a" if v is None else f"{v:.3f}"  # noqa: E731
        lines = [
            f"stockflow-{self.ticker} v{self.version} (champion), trained on data through {self.data_through}: "
            f"{c.verdict.upper()}",
            f"  live days        {c.live_days}" + (f"  ({c.first_day} .. {c.last_day})" if c.live_days else ""),
            f"  MAE / persist.   live {ratio(c.live_mae_ratio)}   on its test window {ratio(c.test_mae_ratio)}"
            + ("" if c.live_dm_pvalue is None else f"   (Diebold-Mariano p {c.live_dm_pvalue:.3f})"),
        ]
        for finding in c.findings.values():
            lines.extend(finding.lines)
        if self.strategy:
            s, b = self.strategy["strategy"], self.strategy["buy_and_hold"]
            lines.append(f"  live strategy    return {s['total_return']:+.1%}, Sharpe {s['sharpe']:.2f}   "
                         f"buy and hold {b['total_return']:+.1%}, Sharpe {b['sharpe']:.2f}")  # fmt: skip
        decided = c.decided_by
        if decided is not None and not decided.alarms and decided.no_alarm:
            lines.append(decided.no_alarm)
        if self.alarm:
            lines.append("  alarm            due: the `monitor` flow sends it, and the retrain deployment answers")
        return "\n".join(lines)

    # --- the alarm -----------------------------------------------------------------------------------------------

    @property
    def event(self) -> str:
        """The alarm's Prefect event: `stockflow.champion.<verdict>`."""
        return f"{ALARM_PREFIX}{self.check.verdict}"

    def reason(self) -> str:
        """The alarm in a line: what the check found, with its figures."""
        decided = self.check.decided_by
        return decided.reason if decided is not None else self.check.verdict

    def payload(self) -> dict[str, Any]:
        """The alarm event's payload: what the retrain it starts is told (ticker, reason, monitor run), and the
        check's scalar figures."""
        figures = {k: v for k, v in self.check.figures.items() if not isinstance(v, dict)}
        return {"ticker": self.ticker, "reason": self.reason(), "monitor_run_id": self.run_id,
                "version": self.version, **figures}  # fmt: skip
