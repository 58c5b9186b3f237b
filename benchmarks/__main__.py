"""End-to-end time of `stockflow run` on the default data and where it goes; backtest speed.

Ratios are against references timed in this same run, so figures from
different machines compare: the pipeline's phases against its own total, and
stockflow's backtest against backtesting.py on the same bars and signals.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tasks.quiet import quiet

quiet()


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def pipeline_phases() -> None:
    from tasks import tracking
    from tasks.pipeline import MODULES
    from tasks.project import STAGES, Project

    root = Path.cwd()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.cli", "run"], check=True, capture_output=True)
    total = time.perf_counter() - start

    # The same stages in-process, compute and MLflow logging timed apart.
    project = Project(root)
    params = project.load_params()
    ticker = params.data.ticker
    run_id = tracking.open_run(project, params, ticker, trigger="bench")
    compute, logging = {}, 0.0
    for stage in STAGES:
        kwargs = {"progress": False} if stage == "train" else {}
        _, compute[stage] = timed(MODULES[stage].compute, project, params, ticker, **kwargs)
        with tracking.stage_run(project, params, run_id, final=stage == STAGES[-1]):
            _, seconds = timed(MODULES[stage].record, project, params, ticker)
        logging += seconds
    startup = max(total - sum(compute.values()) - logging, 0.0)
    print(f"stockflow run on {ticker}: {total:.1f} s end to end (subprocess, ephemeral Prefect server)")
    rows = [("start-up (imports, Prefect, MLflow store)", startup), *compute.items(), ("MLflow logging", logging)]
    for name, seconds in rows:
        print(f"  {name:<44}{seconds:>7.1f} s  {seconds / total:>6.1%}")


def backtest_speed() -> None:
    import pandas as pd

    from stockflow.backtest import Rules, run_backtest
    from stockflow.performance import strategy_metrics

    rng = np.random.default_rng(0)
    n = 5000
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    bars = pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n)),
            "Low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n)),
            "Close": close,
            "Volume": 1e6,
        },
        index=pd.bdate_range("2000-01-03", periods=n),
    )
    signals = (rng.random(n) < 0.55).astype(int)
    rules = Rules(cash=10_000, commission=0.001, stop_loss=0.03, take_profit=0.06)
    frame = bars.reset_index(names="Date")

    def ours():
        return strategy_metrics(run_backtest(frame, signals, rules), rules.cash)

    ours()
    reps = 20
    _, t_ours = timed(lambda: [ours() for _ in range(reps)])
    t_ours /= reps

    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    sig = pd.Series(signals, index=bars.index)

    class FromSignals(Strategy):
        def init(self):
            pass

        def next(self):
            want = sig.loc[self.data.index[-1]]
            if want and not self.position:
                price = self.data.Close[-1]
                self.buy(sl=price * 0.97, tp=price * 1.06)
            elif not want and self.position:
                self.position.close()

    import warnings

    warnings.filterwarnings("ignore")
    bt = FractionalBacktest(bars, FromSignals, cash=10_000, commission=0.001, fractional_unit=1e-6)
    _, t_ref = timed(bt.run)
    grid, t_grid = timed(
        lambda: [
            run_backtest(frame, signals, Rules(10_000, 0.001, 0, sl, tp))
            for sl in np.linspace(0.01, 0.1, 10)
            for tp in np.linspace(0.02, 0.2, 10)
        ]
    )
    print(f"\nbacktest, {n} bars with stops, commission and full metrics:")
    print(f"  stockflow      {t_ours * 1e3:8.1f} ms  {n / t_ours:>10,.0f} bars/s")
    print(f"  backtesting.py {t_ref * 1e3:8.1f} ms  {n / t_ref:>10,.0f} bars/s   (reference)")
    print(f"  ratio: stockflow is {t_ref / t_ours:.1f}x the reference's speed")
    print(f"  100-combination stop-loss x take-profit grid: {t_grid:.2f} s ({100 * n / t_grid:,.0f} bars/s)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory():
        pipeline_phases()
    backtest_speed()
