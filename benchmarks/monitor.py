"""The monitor: how long `stockflow monitor` takes, whether its alarms are right, and whether retraining on them pays.

1. `stockflow monitor` as whole processes, cold (the model runs) and warm (same bytes), against a plain
   script that only reads the champion from the registry: the floor any check pays.
2. Champions trained up to a date, then left to meet what came next: mid-2007 into the 2008 crash must
   raise an alarm; calm years must not report decay. Its false-alarm rate on the calm stretches.
3. The retraining policies replayed over 2005-2018 on the S&P 500 and the NASDAQ samples.

Training uses `--set train.epochs=3 --set train.patience=0` (BENCH_TRAIN): 56 retrains per series on
two cores would take hours at the default's early-stopped length; the comparison is between policies
on the same models, which this keeps.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

BENCH_TRAIN = ["train.epochs=3", "train.patience=0"]
CALM = [("2003-12-31", "2004-12-31"), ("2005-12-30", "2006-12-29"), ("2012-12-31", "2013-12-31"),
        ("2013-12-31", "2014-12-31"), ("2016-12-30", "2017-12-29")]  # fmt: skip
CRASH = ("2007-06-29", "2008-12-31")


def _project(prices: pd.DataFrame, through: str) -> Path:
    """A throwaway project holding the S&P 500 bars up to `through`."""
    from stockflow.data.prices import to_csv_text

    repo = Path(__file__).resolve().parents[1]
    root = Path(tempfile.mkdtemp(prefix="stockflow-bench-monitor-"))
    shutil.copy(repo / "params.yaml", root / "params.yaml")
    shutil.copytree(repo / "expectations", root / "expectations")
    (root / "data").mkdir()
    (root / "data" / "sp500.csv").write_text(to_csv_text(prices[prices["Date"] <= through]))
    return root


def _monitor_timing(prices: pd.DataFrame) -> None:
    from stockflow.data.prices import to_csv_text
    from tasks.kinds import TICKER
    from tasks.services import execution

    root = _project(prices, "2016-12-30")
    try:
        ex = execution.begin(root, "sp500", BENCH_TRAIN + ["promote.max_mae_ratio=100"], trigger="bench")
        for stage in TICKER.names[:-1]:
            execution.compute(ex, stage)
        execution.conclude(ex)
        (root / "data" / "sp500.csv").write_text(to_csv_text(prices))  # 2017-2018: 501 live days
        env = {**os.environ, "TQDM_DISABLE": "1"}
        cmd = [sys.executable, "-m", "flows.cli", "monitor", "--root", str(root)]
        floor = [sys.executable, "-c", "from tasks.services.process import quiet; quiet(); "
                 "from mlflow import MlflowClient; "
                 f"MlflowClient({os.environ['MLFLOW_TRACKING_URI']!r}).get_model_version_by_alias('stockflow-sp500', "
                 "'champion')"]  # fmt: skip
        times = {"cold": [], "warm": [], "floor": []}
        for round_ in range(3):
            for key, command in (("cold" if round_ == 0 else "warm", cmd), ("floor", floor)):
                started = time.perf_counter()
                subprocess.run(command, check=True, capture_output=True, env=env)
                times[key].append(time.perf_counter() - started)
        warm, base = min(times["warm"]), min(times["floor"])
        print(f"\nstockflow monitor, one ticker, 501 live days (whole processes): cold {times['cold'][0]:.1f} s "
              f"(the registered model runs), warm {warm:.1f} s (same bytes: validation, forecasts reused)")  # fmt: skip
        print(
            f"  a plain script that only reads the champion from the registry: {base:.1f} s; "
            f"warm check = {warm / base:.2f}x that"
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _stretches(name: str, prices: pd.DataFrame) -> tuple[int, int]:
    """Champions trained up to a date meet what came next; the crash must alarm, calm years must not decay."""
    from stockflow.champion import monitoring, policies
    from stockflow.champion.replay import fit_at
    from stockflow.ticker.forecast_metrics import mae_ratio
    from tasks.services.workspace import Workspace

    params = Workspace.project(Path.cwd()).load_params(BENCH_TRAIN)
    print(f"\n{name}: champions left to meet what came next (decay: CUSUM, drift: PSI and KS)")
    print(f"  {'trained through':<17}{'meets':<26}{'live MAE/pers.':>15}{'test':>7}{'gate':>6}{'decay':>7}{'drift':>7}"
          f"   first alarm")  # fmt: skip
    false_alarms = 0
    for through, until in [CRASH, *CALM]:
        seen = prices[prices["Date"] <= until].reset_index(drop=True)
        fitted = fit_at(prices[prices["Date"] <= through].reset_index(drop=True), params)
        r = policies.reign(fitted, seen, pd.Timestamp(through), params)
        live = r.live
        inputs = monitoring.model_inputs(seen)
        first_alarm, said = None, "ok"
        for day in live["target_date"]:
            said = policies.verdict_on(r, day, inputs, params)
            if said in ("decayed", "drifted"):
                first_alarm = f"{day.date()} {said}"
                break
        decay = r.decay_from is not None
        compared = monitoring.input_windows(inputs, fitted.train_window, r.data_through, params.monitor.drift_window)
        drift = monitoring.drift_test(*compared, params.monitor)
        ratio = mae_ratio(live["actual"], live["forecast"], live["close"])
        test = mae_ratio(fitted.test["actual"], fitted.test["forecast"], fitted.test["close"])
        meets = f"{live['target_date'].iloc[0].date()} .. {until}"
        gate = "pass" if test <= params.promote.max_mae_ratio else "fail"  # would it have become champion?
        print(f"  {through:<17}{meets:<26}{ratio:>15.4f}{test:>7.3f}{gate:>6}{'YES' if decay else 'no':>7}"
              f"{'YES' if any(v['drifted'] for v in drift.values()) else 'no':>7}   {first_alarm or '-'}")  # fmt: skip
        if (through, until) != CRASH:
            false_alarms += decay
    horizon = params.monitor.horizon_days
    print(f"  decay alarms on the {len(CALM)} calm stretches: {false_alarms} (set for 5% per {horizon} live days)")
    return false_alarms, len(CALM)


def _policies(name: str, prices: pd.DataFrame) -> None:
    from stockflow.champion import policies
    from tasks.services.workspace import Workspace

    params = Workspace.project(Path.cwd()).load_params(BENCH_TRAIN)
    start, end = pd.Timestamp("2005-01-03"), prices["Date"].max()
    fits: dict = {}
    rows = {}
    for text in ("every:3M", "alarm", "once"):
        started = time.perf_counter()
        outcome = policies.simulate(prices, params, policies.parse_policy(text), start, end, fits)
        rows[text], _ = policies.scores(prices, outcome, params)
        rows[text]["seconds"] = time.perf_counter() - started
    print(f"\nretraining policies on {name}, out of sample {start.date()} .. {end.date()} "
          f"({rows['once']['days']} days; {' '.join(BENCH_TRAIN)})")  # fmt: skip
    print(f"  {'policy':<10}{'MAE/pers.':>10}{'Sharpe':>8}{'retrains':>10}{'promoted':>10}{'alarms':>8}{'s':>8}")
    for text, r in rows.items():
        print(f"  {text:<10}{r['mae_ratio']:>10.4f}{r['sharpe']:>8.2f}{r['retrains']:>10}{r['promotions']:>10}"
              f"{r['alarms']:>8}{r['seconds']:>8.0f}")  # fmt: skip
    gap = rows["alarm"]["mae_ratio"] - rows["every:3M"]["mae_ratio"]
    half = rows["alarm"]["retrains"] <= rows["every:3M"]["retrains"] / 2
    print(
        f"  alarm vs every:3M: MAE ratio {gap:+.4f} (goal: within 0.002), retrains {rows['alarm']['retrains']} vs "
        f"{rows['every:3M']['retrains']} (goal: at most half: {'met' if half else 'not met'})"
    )


def main(replay: bool = True) -> None:
    from tasks import sources

    sp500 = sources.load("sample:sp500")[0].prices.frame
    _monitor_timing(sp500)
    for name in ("sp500", "nasdaq"):
        prices = sources.load(f"sample:{name}")[0].prices.frame
        _stretches(name, prices)
    if replay:
        for name in ("sp500", "nasdaq"):
            prices = sources.load(f"sample:{name}")[0].prices.frame
            _policies(name, prices)
