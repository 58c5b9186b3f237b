"""`make bench`: timings as ratios against references measured in the same run.

- where `stockflow run`'s time goes (start-up, each stage, the recording);
- eight tickers as eight `stockflow run` processes against one watchlist run (1 and 2 workers, and Dask);
- the MLflow REST API's latency to a run's headline figures, and the UI's memory;
- the forecast table (paper preset, default and baselines, per real series);
- the backtest's speed against backtesting.py and vectorbt;
- the monitor: `stockflow monitor`'s time, its alarms on a crash and on calm years, the retraining policies.

`python -m benchmarks monitor` runs the monitor's part alone.

Runs are logged to a throwaway MLflow store that this bench creates and deletes,
so the project's runs and champion never move.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from tasks.process import quiet

quiet()
# tqdm reads TQDM_* settings when it is first imported: this silences backtesting.py's per-run bar.
os.environ["TQDM_DISABLE"] = "1"

if __name__ == "__main__":
    import sys

    from benchmarks import backtest, forecasts, monitor, pipeline, tracking, watchlist

    only_monitor = sys.argv[1:] == ["monitor"]
    only_pipeline = sys.argv[1:] == ["pipeline"]  # `python -m benchmarks pipeline`: stockflow run's time alone
    store = Path(tempfile.mkdtemp(prefix="stockflow-bench-"))  # this bench's own folder, and only it is removed
    os.environ["MLFLOW_TRACKING_URI"] = f"sqlite:///{store / 'mlflow.db'}"
    try:
        if not only_monitor:
            pipeline.main()
        if only_pipeline:
            sys.exit(0)
        if not only_monitor:
            tracking.main(os.environ["MLFLOW_TRACKING_URI"])
            watchlist.main()
        monitor.main()
    finally:
        shutil.rmtree(store, ignore_errors=True)
        os.environ.pop("MLFLOW_TRACKING_URI")
    if not only_monitor:
        forecasts.main()
        backtest.main()
