"""The few lines printed after a run: the model beside persistence, the strategy beside Buy-and-Hold."""

from __future__ import annotations

from typing import Any

from tasks.project import Project
from tasks.tracking import tracking_uri


def summary(results: dict[str, Any], project: Project) -> str:
    ev, bt = results["evaluate"], results["backtest"]
    model, base = ev["model"], ev["baselines"]
    strategies = [("model signals", bt["strategy"]), ("buy and hold", bt["buy_and_hold"])]
    if "optimised" in bt:
        opt = bt["optimised"]
        strategies[1:1] = [("tuned, valid.", opt["validation"]), ("tuned, test", opt["test"])]
        if "walk_forward" in opt:
            strategies.insert(3, ("walk-forward", opt["walk_forward"]["pooled"]))
    rows = [
        f"stockflow: {results['ticker']} (preset {results.get('preset', 'default')}), "
        f"test window {bt['start']} .. {bt['end']} ({ev['test_days']} days)",
        "",
        f"  {'forecast':<14}{'MAE':>10}{'RMSE':>10}{'MAE/persist.':>14}{'direction':>11}",
    ]
    for name, m in [("model", model), *base.items()]:
        direction = "n/a" if m["direction_accuracy"] is None else f"{m['direction_accuracy']:.1%}"
        rows.append(f"  {name:<14}{m['mae']:>10.3f}{m['rmse']:>10.3f}{m['mae_ratio']:>14.3f}{direction:>11}")
    rows += [
        f"  up days: {ev['up_share']:.1%}; Diebold-Mariano vs persistence: "
        f"stat {ev['dm_stat']:.2f}, p {ev['dm_pvalue']:.3f}",
        *_robustness_lines(ev),
        "",
        strategy_table(strategies),
        "",
        *_promotion_lines(results),
        f"  MLflow run: {results['run_id']}",
        f"  See it:     mlflow ui --backend-store-uri {tracking_uri(project)}   (or: stockflow ui)",
    ]
    return "\n".join(rows)


def strategy_table(rows: list[tuple[str, dict[str, float]]]) -> str:
    """Return, Sharpe, Calmar, drawdown and trades, one strategy per line (net of costs)."""
    lines = [f"  {'strategy':<16}{'return':>9}{'CAGR':>8}{'Sharpe':>8}{'Calmar':>8}{'max DD':>9}{'trades':>8}"]
    for label, m in rows:
        trades = f"{int(m['trades']):>8}" if "trades" in m else f"{'':>8}"
        lines.append(
            f"  {label:<16}{m['total_return']:>9.1%}{m['cagr']:>8.1%}{m['sharpe']:>8.2f}{m['calmar']:>8.2f}"
            f"{m['max_drawdown']:>9.1%}{trades}"
        )
    return "\n".join(lines)


def _robustness_lines(ev: dict[str, Any]) -> list[str]:
    lines = []
    if "seeds" in ev:
        s = ev["seeds"]
        lines.append(
            f"  {len(s['runs'])} seeds: MAE/persist. {s['mae_ratio_mean']:.3f} +/- {s['mae_ratio_std']:.3f} (mean, std)"
        )
    if "walk_forward" in ev:
        wf = ev["walk_forward"]
        ratios = ", ".join(f"{f['mae_ratio']:.3f}" for f in wf["folds"])
        lines.append(
            f"  walk-forward ({wf['window']}, {len(wf['folds'])} refits): MAE/persist. pooled "
            f"{wf['pooled']['mae_ratio']:.3f}, per fold {ratios}"
        )
    return lines


def _promotion_lines(results: dict[str, Any]) -> list[str]:
    if "promote" not in results:
        return []
    pr = results["promote"]
    name = f"stockflow-{results['ticker']}"
    verdict = "now champion" if pr["promote"] else "champion unchanged"
    return [f"  Registry:   {name} v{pr['version']} (challenger), {verdict}: {pr['reason']}"]


def replay_summary(result: dict[str, Any], project: Project) -> str:
    table, metrics = result["table"], result["metrics"]
    lines = [f"replay of {result['ticker']}: {len(table)} steps", ""]
    lines.append(f"  {'as of':<12}{'model':>6}{'decision':>10}{'test MAE/persist.':>19}{'champion':>10}"
                 f"{'next period MAE/persist.':>26}")  # fmt: skip
    for row in table.to_dict("records"):
        period = row.get("period_mae_ratio")
        period = "" if period is None or period != period else f"{period:.3f}"
        lines.append(
            f"  {str(row['as_of']):<12}{row['version']:>6}{row['decision']:>10}{row['test_mae_ratio']:>19.3f}"
            f"{row['champion']:>10}{period:>26}"
        )
    if metrics:
        lines += ["", "  out of sample, stitched:", strategy_table(
            [(name.replace("_", " "), m) for name, m in metrics.items()])]  # fmt: skip
    else:
        lines += ["", "  no model passed the gate: nothing traded"]
    lines += ["", f"  MLflow parent run: {result['run_id']}   (stockflow ui)"]
    return "\n".join(lines)
