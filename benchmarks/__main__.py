"""`make bench`: timings as ratios against references measured in the same run.

- where `stockflow run`'s time goes (start-up, each stage, the recording);
- eight tickers as eight `stockflow run` processes against one watchlist run (1 and 2 workers, and Dask);
- the MLflow REST API's latency to a run's headline figures, and the UI's memory;
- the forecast table (paper preset, default and baselines, per real series);
- the interval table: the champion's interval beside Gaussian and GARCH intervals on five series, and live;
- the backtest's speed against backtesting.py and vectorbt;
- the monitor: `stockflow monitor`'s time, its alarms on a crash and on calm years, the retraining policies;
- universes: a planted and a noise universe (Rank IC against the oracle's, the portfolio against equal weight,
  the gate), and a 500-ticker x 20-year one (peak memory, the input pipeline against ready-made arrays);
- tuning: a 30-trial study against the same trials in a plain loop, on 1 and 2 workers, and what it found;
- a market: a 500-stock panel file and a Stooq download ingested beside `pandas.read_csv`, and Alpha158 on it;
- qlib: Alpha158 beside Qlib's own (pyqlib in the bench-only `.venv-qlib`): time, memory, every factor compared.

`python -m benchmarks monitor backtest` runs those parts alone (any of pipeline, tracking,
watchlist, monitor, universe, tuning, market, qlib, forecasts, intervals, backtest).

Runs are logged to a throwaway MLflow store that this bench creates and deletes,
so the project's runs and champion never move.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tasks.services.process import quiet

quiet()
# tqdm reads TQDM_* settings when it is first imported: this silences backtesting.py's per-run bar.
os.environ["TQDM_DISABLE"] = "1"

if __name__ == "__main__":
    import sys

    from benchmarks import (
        backtest,
        forecasts,
        intervals,
        market,
        monitor,
        pipeline,
        qlib_factors,
        tracking,
        tuning,
        universe,
        watchlist,
    )

    # `python -m benchmarks pipeline backtest`: only those parts; no arguments: all of them.
    everything = [
        "pipeline",
        "tracking",
        "watchlist",
        "monitor",
        "universe",
        "tuning",
        "market",
        "qlib",
        "forecasts",
        "intervals",
        "backtest",
    ]
    wanted = sys.argv[1:] or everything
    if unknown := set(wanted) - set(everything):
        sys.exit(f"unknown part(s) {sorted(unknown)}; choose from {everything}")
    store = Path(tempfile.mkdtemp(prefix="stockflow-bench-"))  # this bench's own folder, and only it is removed
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    try:
        if "pipeline" in wanted or "tracking" in wanted:  # tracking reads the run the pipeline's part made
            pipeline.main()
        if "tracking" in wanted:
            tracking.main(os.environ["MLFLOW_TRACKING_URI"])
        if "watchlist" in wanted:
            watchlist.main()
        if "monitor" in wanted:
            monitor.main()
        if "universe" in wanted:
            universe.main()
    finally:
        shutil.rmtree(store, ignore_errors=True)
        os.environ.pop("MLFLOW_TRACKING_URI")
    if "tuning" in wanted:  # its projects keep their own stores: a study's record is read back from them
        tuning.main()
    if "market" in wanted:
        market.main()
    if "qlib" in wanted:
        qlib_factors.main()
    if "forecasts" in wanted:
        forecasts.main()
    if "intervals" in wanted:
        intervals.main()
    if "backtest" in wanted:
        backtest.main()
