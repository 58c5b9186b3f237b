"""End-to-end time of `stockflow run` on the default data and where it goes; backtest speed.

Ratios are against references timed in this same run, so figures from
different machines compare: the pipeline's phases against its own total, and
stockflow's backtest against backtesting.py on the same bars and signals.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from tasks.process import quiet

quiet()
# tqdm reads TQDM_* settings when it is first imported: this silences backtesting.py's per-run bar.
os.environ["TQDM_DISABLE"] = "1"


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - start


def pipeline_phases() -> None:
    from tasks.pipeline import MODULES
    from tasks.project import STAGES, Project

    from tasks import tracking

    root = Path.cwd()
    # A throwaway MLflow store: benchmark runs must not register versions or move the project's champion.
    store = Path(tempfile.mkdtemp(prefix="stockflow-bench-"))
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
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


def synthetic_bars(n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n)),
            "Low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n)),
            "Close": close,
            "Volume": 1e6,
        },
        index=pd.bdate_range("2000-01-03", periods=n),
    )


STOPS = [(sl, tp) for sl in np.linspace(0.01, 0.1, 10) for tp in np.linspace(0.02, 0.2, 10)]


def backtest_speed() -> None:
    """5,000 bars with stops, commission and metrics; then a 100-combination stop x target grid."""
    import warnings

    import pandas as pd

    from stockflow.backtest import Rules, run_backtest
    from stockflow.performance import strategy_metrics

    warnings.filterwarnings("ignore")
    n = 5000
    bars = synthetic_bars(n)
    signals = (np.random.default_rng(1).random(n) < 0.55).astype(int)
    frame = bars.reset_index(names="Date")

    def ours(sl=0.03, tp=0.06):
        return strategy_metrics(run_backtest(frame, signals, Rules(10_000, 0.001, 0, sl, tp)), 10_000)

    ours()
    _, t_ours = timed(lambda: [ours() for _ in range(20)])
    t_ours /= 20
    _, g_ours = timed(lambda: [ours(sl, tp) for sl, tp in STOPS])
    rows = [("stockflow", t_ours, g_ours, 0.0)]

    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    sig = pd.Series(signals, index=bars.index)

    class FromSignals(Strategy):
        sl, tp = 0.03, 0.06

        def next(self):
            want = sig.iloc[len(self.data) - 1]
            if want and not self.position:
                price = self.data.Close[-1]
                self.buy(sl=price * (1 - self.sl), tp=price * (1 + self.tp))
            elif not want and self.position:
                self.position.close()

        def init(self):
            pass

    bt = FractionalBacktest(bars, FromSignals, cash=10_000, commission=0.001, fractional_unit=1e-6)
    _, t_ref = timed(bt.run)
    _, g_ref = timed(lambda: [bt.run(sl=sl, tp=tp) for sl, tp in STOPS])
    rows.append(("backtesting.py", t_ref, g_ref, 0.0))

    try:
        import vectorbt as vbt
    except ImportError:
        vbt = None
    if vbt is not None:
        entries = pd.Series(signals.astype(bool), index=bars.index)

        def vector(sl=0.03, tp=0.06):
            # Fills at the next open like ours: signals shifted one bar, priced at the open.
            pf = vbt.Portfolio.from_signals(
                bars["Close"], entries.shift(1, fill_value=False), ~entries.shift(1, fill_value=False),
                price=bars["Open"], open=bars["Open"], high=bars["High"], low=bars["Low"],
                sl_stop=sl, tp_stop=tp, fees=0.001, init_cash=10_000, freq="1D",
            )  # fmt: skip
            return pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown(), pf.calmar_ratio()

        _, compile_s = timed(vector)
        _, t_vbt = timed(lambda: [vector() for _ in range(20)])
        _, g_vbt = timed(lambda: [vector(sl, tp) for sl, tp in STOPS])
        rows.append(("vectorbt", t_vbt / 20, g_vbt, compile_s))

    print(f"\nbacktest, {n:,} bars, stops + commission + metrics; grid = 100 stop-loss x take-profit runs")
    print(f"  {'engine':<16}{'one run':>10}{'bars/s':>12}{'grid':>9}{'first call':>12}{'speed vs backtesting.py':>26}")
    for name, one, grid, first in rows:
        print(
            f"  {name:<16}{one * 1e3:>8.1f}ms{n / one:>12,.0f}{grid:>8.2f}s{first:>11.1f}s"
            f"{t_ref / one:>13.1f}x run  {g_ref / grid:>5.1f}x grid"
        )
    if vbt is None:
        print("  (vectorbt not installed: `pip install vectorbt` to add it to this table)")


def forecast_table() -> None:
    """Paper preset, default and the baseline ladder on the same test days, per real series."""
    from tasks.project import Project

    from stockflow import baselines
    from stockflow.dataset import make_dataset
    from stockflow.robustness import train_and_forecast
    from tasks.ingest import load_source

    project = Project(Path.cwd())
    setups = {"paper preset": project.load_params(["preset=paper"]), "default": project.load_params()}
    for sample in ("sp500", "nasdaq"):
        prices, _ = load_source(f"sample:{sample}")
        closes = prices["Close"].to_numpy(dtype=float)
        day = {d: i for i, d in enumerate(prices["Date"].to_numpy())}
        forecasts, seconds, data = {}, {}, None
        for name, params in setups.items():
            data = make_dataset(prices, params.preprocess)
            forecasts[name], seconds[name] = timed(train_and_forecast, data, params.train)
            forecasts[name] = dict(zip(data.dates["test"], forecasts[name], strict=True))
        # Baselines on the default set-up's samples, as a run computes them.
        test = data.dates["test"]
        ladder = baselines.ladder(data, closes, {"test": np.array([day[d] for d in test])}, 10)["test"]
        for name, values in ladder.items():
            forecasts[name] = dict(zip(test, values, strict=True))
        # The same test days for everything: those every forecaster covers.
        common = sorted(set.intersection(*(set(f) for f in forecasts.values())))
        actual = np.array([closes[day[d] + 1] for d in common])
        base = np.mean(np.abs(np.array([forecasts["persistence"][d] for d in common]) - actual))
        print(f"\nforecasts on {sample}, {len(common)} test days from {str(common[0])[:10]}: MAE / persistence MAE")
        for name, f in forecasts.items():
            ratio = np.mean(np.abs(np.array([f[d] for d in common]) - actual)) / base
            took = f"{seconds[name]:8.1f} s training" if name in seconds else ""
            print(f"  {name:<14}{ratio:>8.3f}   {took}")
        ratio_of_time = seconds["default"] / seconds["paper preset"]
        print(f"  default trains in {ratio_of_time:.2f}x the paper preset's time")


if __name__ == "__main__":
    import shutil

    try:
        pipeline_phases()
    finally:
        shutil.rmtree(Path(os.environ["MLFLOW_TRACKING_URI"].removeprefix("sqlite:///")).parent, ignore_errors=True)
    forecast_table()
    backtest_speed()
