"""The few lines a run ends with: the model beside persistence, the strategy beside Buy-and-Hold, the gate.

Pure text from a run's stage summaries: the terminal prints it, the MLflow run
keeps it as its description, and each Prefect stage logs its one line.
"""

from __future__ import annotations

from typing import Any


def _num(value: float | None, fmt: str) -> str:
    """A figure, or n/a where there is none (the DM test when the forecasts are persistence's), as wide as `fmt`."""
    if value is None or value != value:
        width = fmt.lstrip("<>^").split(".")[0].rstrip("%fgd,")
        return format("n/a", f">{width}") if width.isdigit() else "n/a"
    return format(value, fmt)


def run_summary(results: dict[str, Any]) -> str:
    """The run's summary table (`results`: each stage's summary by name, plus ticker, preset and name)."""
    from stockflow.strategies import table_rows

    ev, bt = results["evaluate"], results["backtest"]
    model, base = ev["model"], ev["baselines"]
    strategies, notes = table_rows(bt)
    rows = [
        f"stockflow: {results.get('name') or results['ticker']} (preset {results.get('preset', 'default')}), "
        f"test window {bt['start']} .. {bt['end']} ({ev['test_days']} days)",
        *_training_line(results.get("train"), results.get("seconds", {}).get("train")),
        "",
        f"  {'forecast':<14}{'MAE':>10}{'RMSE':>10}{'MAE/persist.':>14}{'direction':>11}",
    ]
    ladder = [(name, base[name]) for name in ("persistence", "drift", "sma", "ridge", "svr") if name in base]
    for name, m in [("model", model), *ladder]:
        direction = "n/a" if m["direction_accuracy"] is None else f"{m['direction_accuracy']:.1%}"
        rows.append(f"  {name:<14}{m['mae']:>10.3f}{m['rmse']:>10.3f}{m['mae_ratio']:>14.3f}{direction:>11}")
    rows += [
        f"  up days: {ev['up_share']:.1%}; Diebold-Mariano vs persistence: "
        f"stat {_num(ev['dm_stat'], '.2f')}, p {_num(ev['dm_pvalue'], '.3f')}",
        *_robustness_lines(ev),
        *_interval_lines(ev.get("interval")),
        "",
        strategy_table(strategies),
        *notes,
        "",
        *_promotion_lines(results),
    ]
    return "\n".join(rows)


INTERVAL_LABELS = {"model": "model", "gaussian": "gaussian 20d", "garch": "garch(1,1)"}


def _interval_lines(iv: dict[str, Any] | None) -> list[str]:
    """The next-close interval of the model beside its baselines, on the test window."""
    if not iv:
        return []
    lines = ["", f"  {iv['level']:.0%} interval{'coverage':>10}{'width':>10}{'width %':>9}{'Winkler':>10}"]
    for name, label in INTERVAL_LABELS.items():
        m = iv[name]
        lines.append(
            f"  {label:<14}{m['coverage']:>9.1%}{m['width']:>10.2f}{m['width_pct']:>8.2f}%{m['winkler']:>10.2f}"
        )
    lines.append(f"  Winkler score / the better baseline's: {iv['winkler_ratio']:.3f} (below 1 beats both); calibrated "
                 f"on {iv['calibration_days']} validation days")  # fmt: skip
    return lines


SCORERS = {"model": "model", "reversal": "reversal (-5d)", "momentum": "momentum (12-1)", "ridge": "ridge",
           "shuffled_labels": "shuffled labels"}  # fmt: skip


def _gate_line(gate: dict[str, Any] | None) -> list[str]:
    """What the data gate masked and dropped, when it did (universe_validate/masked.csv names every bar)."""
    if not gate or not (gate.get("bars_masked") or gate.get("tickers_dropped") or gate.get("bars_volume_missing")):
        return []
    return [
        f"  data gate: {gate['bars_masked']} bar(s) masked, {gate.get('bars_volume_missing', 0)} with volume "
        f"missing, {gate['tickers_dropped']} ticker(s) dropped (universe_validate/masked.csv)"
    ]


def universe_summary(results: dict[str, Any]) -> str:
    """A universe's run: its scores ranked against the next day's returns beside the baselines, its portfolio
    beside equal weight and the best baseline's, the gate."""
    from stockflow.universe.portfolio import summary_row

    pre, ev, bt = results["universe_preprocess"], results["universe_evaluate"], results["universe_backtest"]
    fills = (
        "closes only: features from closes, fills at the next close" if pre["close_only"] else "fills at the next open"
    )
    rows = [
        f"stockflow: {results.get('name') or 'universe ' + results['ticker']} ({pre['tickers']} tickers; {fills}), "
        f"test window {bt['start']} .. {bt['end']} ({ev['test_days']} days)",
        *_gate_line(results.get("universe_validate")),
        *_training_line(results.get("universe_train"), results.get("seconds", {}).get("universe_train")),
        "",
        f"  {'scores, test window':<22}{'Rank IC':>9}{'t-stat':>8}{'ICIR':>7}{'IC':>9}{'positive':>10}",
    ]  # the daily correlation of the scores with the next day's returns across the universe
    for name, label in SCORERS.items():
        if name in ev["test"]:
            rows.append(_score_row(label, ev["test"][name]))
    if "seeds" in ev:
        s = ev["seeds"]
        rows.append(f"  {len(s['runs'])} seeds: Rank IC {s['rank_ic_mean']:.4f} +/- {s['rank_ic_std']:.4f} (mean, std)")
    if "null_band" in ev:
        band = ev["null_band"]
        rows.append(f"  shuffled labels: {len(band['runs'])} networks on labels shuffled within each day rank the test "
                    f"window from {_num(band['low'], '.4f')} to {_num(band['high'], '.4f')}: the model's "
                    f"{_num(band['model'], '.4f')} is {band['model_is']} that null band")  # fmt: skip
    elif "shuffled_labels" in ev["test"]:
        rows.append("  shuffled labels: the same network trained on labels shuffled within each day")
    rows.append("")
    chosen, test = bt["chosen"], bt["test"]
    every = f", every {chosen['every']} days" if chosen.get("every", 1) > 1 else ""
    rule = f"top {chosen['k']}, {chosen['n']}/day, {chosen['weighting'].replace('_', ' ')}{every}"
    choice = (
        f"  rules chosen on the validation window by {bt['objective'].replace('_', ' ')} "
        f"({bt['validation'][bt['objective']]:.2f} there); traded once on the test window, fills at {bt['fills']}"
    )
    if bt.get("holds_equal_weight"):
        rule = "holds equal weight"
        choice = (f"  no rule beat equal weight on validation (best information ratio "
                  f"{bt['validation']['information_ratio']:.2f}, needed above {bt['min_information_ratio']:.2f}): "
                  f"holding equal weight; fills at {bt['fills']}")  # fmt: skip
    rows += [
        f"  {'portfolio, test (net)':<26}{'annual':>8}{'excess':>9}{'IR':>7}{'Sharpe':>8}{'max DD':>9}{'turnover':>9}"
        f"{'cost/yr':>8}",
        summary_row(f"model: {rule}", test["model"]),
        summary_row(f"{test['baseline']['name']} (best baseline)", test["baseline"]),
        summary_row("equal weight, monthly", test["equal_weight"]),
        choice,
        "",
        *_promotion_lines({**results, "promote": results.get("universe_promote")}),
    ]
    return "\n".join(rows)


def _score_row(label: str, card: dict[str, Any]) -> str:
    """One scorer's line: its daily Rank IC's mean, t, ICIR, the IC's mean, the share of positive days."""
    r = card["rank_ic"]
    return (f"  {label:<22}{_num(r['mean'], '>9.4f')}{_num(r['t_stat'], '>8.2f')}{_num(r['icir'], '>7.3f')}"
            f"{_num(card['ic']['mean'], '>9.4f')}{_num(r['positive'], '>10.1%')}")  # fmt: skip


def _training_line(train: dict[str, Any] | None, seconds: float | None) -> list[str]:
    if not train:
        return []
    took = "" if seconds is None else f" in {seconds:.1f} s"
    why = ""
    if train.get("stopped_early"):
        why = f"; stopped early, the weights of epoch {train['best_epoch']} (best validation loss) kept"
    elif train["best_epoch"] != train["epochs_run"]:
        why = f"; best validation loss at epoch {train['best_epoch']}"
    lines = [f"  trained {train['epochs_run']} epoch(s){took}{why}"]
    shrink = train.get("shrink", 1.0)  # a universe's network has none
    if shrink < 1.0:
        lines.append(f"  predicted moves scaled by {shrink:.2f} toward persistence (chosen on the validation window)"
                     + ("; 0: the forecast is persistence itself" if shrink == 0 else ""))  # fmt: skip
    return lines


def stage_line(stage: str, summary: dict[str, Any], seconds: float | None = None) -> str:
    """One line per stage, for the Prefect logs (with the stage's time, when given)."""
    line = _stage_line(stage, summary)
    return line if seconds is None else f"{line} ({seconds:.1f} s)"


def _evaluate_line(s: dict[str, Any]) -> str:
    line = f"MAE {s['model']['mae']:.3f}, {s['mae_ratio']:.4f}x persistence, DM p {_num(s['dm_pvalue'], '.3f')}"
    if "interval" in s:
        iv = s["interval"]
        line += (f"; {iv['level']:.0%} interval covers {iv['model']['coverage']:.1%}, Winkler "
                 f"{iv['winkler_ratio']:.3f}x the better baseline")  # fmt: skip
    return line


def _sizes(s: dict[str, Any]) -> str:
    return f"{s['train_samples']}/{s['val_samples']}/{s['test_samples']} train/val/test windows"


def _verdict_line(s: dict[str, Any]) -> str:
    return f"{'promoted' if s['promote'] else 'rejected'} v{s['version']}: {s['reason']}"


def _universe_evaluate_line(s: dict[str, Any]) -> str:
    r, best = s["test"]["model"]["rank_ic"], s["best_baseline"]
    return (f"Rank IC {_num(r['mean'], '.4f')} (t {_num(r['t_stat'], '.2f')}); {best} "
            f"{_num(s['test'][best]['rank_ic']['mean'], '.4f')}")  # fmt: skip


def _universe_backtest_line(s: dict[str, Any]) -> str:
    m, c = s["test"]["model"], s["chosen"]
    return (f"top {c['k']}, {c['n']}/day, {c['weighting']}: {m['annual_return']:.1%} a year, "
            f"{m['excess_return']:+.1%} over equal weight (IR {m['information_ratio']:.2f})")  # fmt: skip


def _epochs_line(s: dict[str, Any]) -> str:
    return f"{s['epochs_run']} epoch(s), best {s['best_epoch']}"


# Each stage's line after its name, by stage (a stage not here says `done`).
_LINES: dict[str, Any] = {
    "validate": lambda s: f"{s['rows']} rows, {s['errors']} error(s), {s['warnings']} warning(s)",
    "preprocess": lambda s: f"{_sizes(s)} of {s['lookback']} days, test {s['test_start']}..{s['test_end']}",
    "train": _epochs_line,
    "evaluate": _evaluate_line,
    "backtest": lambda s: (f"return {s['strategy']['total_return']:.1%} (Sharpe {s['strategy']['sharpe']:.2f}) vs "
                           f"buy and hold {s['buy_and_hold']['total_return']:.1%} (Sharpe "
                           f"{s['buy_and_hold']['sharpe']:.2f}), {int(s['strategy']['trades'])} trades"),
    "promote": _verdict_line,
    "universe_validate": lambda s: (f"{s['tickers']} tickers, {s['failed']} failed, {s['close_only']} of closes "
                                    f"only, {s.get('bars_masked', 0)} bar(s) masked"),
    "universe_preprocess": lambda s: f"{_sizes(s)}, test {s['test_start']}..{s['test_end']}",
    "universe_train": _epochs_line,
    "universe_evaluate": _universe_evaluate_line,
    "universe_backtest": _universe_backtest_line,
    "universe_promote": _verdict_line,
}  # fmt: skip


def _stage_line(stage: str, summary: dict[str, Any]) -> str:
    return f"{stage}: {_LINES[stage](summary) if stage in _LINES else 'done'}"


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


def _promotion_lines(results: dict[str, Any], name: str | None = None) -> list[str]:
    if not results.get("promote"):
        return []
    pr = results["promote"]
    name = name or f"stockflow-{results.get('registered') or results['ticker']}"  # its registered model
    if not pr.get("registered", True):
        return [f"  Registry:   {name} v{pr['version']}: {pr['reason']}"]
    verdict = "now champion" if pr["promote"] else "champion unchanged"
    return [f"  Registry:   {name} v{pr['version']} (challenger), {verdict}: {pr['reason']}"]


def replay_summary(result: dict[str, Any]) -> str:
    """The replay's step table and its stitched out-of-sample result."""
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
    return "\n".join(lines)


def policies_summary(result: dict[str, Any]) -> str:
    """Retraining policies side by side: stitched out-of-sample error, net Sharpe, retrains and alarms."""
    table = result["table"]
    lines = [f"retraining policies for {result['ticker']}, out of sample from {result['start']} "
             f"({int(table['days'].iloc[0])} days)", ""]  # fmt: skip
    lines.append(f"  {'policy':<12}{'MAE/persist.':>13}{'Sharpe':>8}{'return':>9}{'max DD':>9}{'retrains':>10}"
                 f"{'promoted':>10}{'alarms':>8}")  # fmt: skip
    for row in table.to_dict("records"):
        lines.append(
            f"  {row['policy']:<12}{row['mae_ratio']:>13.4f}{row['sharpe']:>8.2f}{row['total_return']:>9.1%}"
            f"{row['max_drawdown']:>9.1%}{row['retrains']:>10}{row['promotions']:>10}{row['alarms']:>8}"
        )
    lines.append("  (Sharpe net of costs; a retrain replaces the champion only through the gate)")
    return "\n".join(lines)


def universe_replay_summary(r: dict[str, Any]) -> str:
    """A universe's rolling replay: every scorer's stitched out-of-sample Rank IC, per segment, and portfolio."""
    from stockflow.universe.portfolio import summary_row

    segs = r["segments"]
    rows = [
        f"stockflow: replay of universe {r['universe']}, retrained every {r['every']}: {r['segments_run']} segments, "
        f"out of sample {r['start']} .. {r['end']} ({r['test_days']} days)",
        "",
        f"  {'stitched scores':<22}{'Rank IC':>9}{'t-stat':>8}{'ICIR':>7}{'IC':>9}{'positive':>10}",
    ]
    rows += [_score_row(SCORERS.get(name, name), card) for name, card in r["all"].items()]
    names = list(r["all"])
    rows += ["", f"  {'Rank IC per segment':<26}" + "".join(f"{n:>11}" for n in names)]
    rows += [f"  {s['segment']:<26}" + "".join(_num(s[n], ">11.4f") for n in names) for s in segs]
    rows += [
        "",
        f"  {'portfolio, stitched (net)':<26}{'annual':>8}{'excess':>9}{'IR':>7}{'Sharpe':>8}{'max DD':>9}"
        f"{'turnover':>9}{'cost/yr':>8}",
        *(summary_row(f"{SCORERS.get(n, n)[:16]} (EW {r['held_equal_weight'][n]}/{len(segs)})", r["portfolio"][n])
          for n in names),
        *([summary_row("model, its best rule anyway", r["portfolio"]["model_best_rule"])]
          if "model_best_rule" in r["portfolio"] else []),
        summary_row("equal weight, monthly", r["portfolio"]["equal_weight"]),
        "  each segment's rules chosen on its validation step (EW k/n: segments that held equal weight, no rule "
        "having beaten it there by the margin); the model's best rule traded anyway: what that spared, or missed",
    ]  # fmt: skip
    return "\n".join(rows)
