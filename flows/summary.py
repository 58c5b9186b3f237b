"""The few lines printed after a run: the model beside persistence, the strategy beside Buy-and-Hold."""

from __future__ import annotations

from typing import Any

from tasks.project import Project
from tasks.tracking import tracking_uri


def summary(results: dict[str, Any], project: Project) -> str:
    ev, bt = results["evaluate"], results["backtest"]
    model, base = ev["model"], ev["baselines"]
    strat, hold = bt["strategy"], bt["buy_and_hold"]
    rows = [
        f"stockflow: {results['ticker']}, test window {bt['start']} .. {bt['end']} ({ev['test_days']} days)",
        "",
        f"  {'forecast':<14}{'MAE':>10}{'RMSE':>10}{'MAE/persist.':>14}{'direction':>11}",
    ]
    for name, m in [("model", model), *base.items()]:
        direction = "n/a" if m["direction_accuracy"] is None else f"{m['direction_accuracy']:.1%}"
        rows.append(f"  {name:<14}{m['mae']:>10.3f}{m['rmse']:>10.3f}{m['mae_ratio']:>14.3f}{direction:>11}")
    rows += [
        f"  up days: {ev['up_share']:.1%}; Diebold-Mariano vs persistence: "
        f"stat {ev['dm_stat']:.2f}, p {ev['dm_pvalue']:.3f}",
        "",
        f"  {'strategy':<14}{'return':>10}{'Sharpe':>10}{'max DD':>10}{'trades':>8}",
        *(_strategy_row(label, m) for label, m in (("model signals", strat), ("buy and hold", hold))),
        "",
        f"  MLflow run: {results['run_id']}",
        f"  See it:     mlflow ui --backend-store-uri {tracking_uri(project)}   (or: stockflow ui)",
    ]
    return "\n".join(rows)


def _strategy_row(label: str, m: dict[str, float]) -> str:
    return f"  {label:<14}{m['total_return']:>10.1%}{m['sharpe']:>10.2f}{m['max_drawdown']:>10.1%}{int(m['trades']):>8}"
