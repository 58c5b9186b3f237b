"""Eight tickers: eight `stockflow run` processes in a row (one ticker each) against one watchlist run.

The watchlist pays start-up (imports, the Prefect server, each worker's heavy
imports) once per run and once per worker, the loop once per ticker. The same
eight real series (the S&P 500 and the NASDAQ Composite, each cut in four five-year
windows), the same default settings, the same machine, in the same bench run.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

WINDOWS = (("1999", "2003"), ("2004", "2008"), ("2009", "2013"), ("2014", "2018"))


def _project() -> tuple[Path, list[str]]:
    """A throwaway project (no DVC: nothing is published) holding the eight tickers."""
    from stockflow.data.prices import to_csv_text
    from tasks import sources

    root = Path(tempfile.mkdtemp(prefix="stockflow-bench-watchlist-"))
    shutil.copy("params.yaml", root / "params.yaml")
    shutil.copytree("expectations", root / "expectations")
    (root / "data").mkdir()
    tickers = []
    for sample in ("sp500", "nasdaq"):
        prices = sources.load(f"sample:{sample}")[0].prices.frame
        for first, last in WINDOWS:
            name = f"{sample}-{first}"
            part = prices[(prices["Date"] >= f"{first}-01-01") & (prices["Date"] <= f"{last}-12-31")]
            (root / "data" / f"{name}.csv").write_text(to_csv_text(part))
            tickers.append(name)
    return root, tickers


def _stockflow(root: Path, *args: str) -> float:
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "flows.cli", "run", "--root", str(root), *args], capture_output=True,
                         text=True, env={**os.environ, "TQDM_DISABLE": "1"})  # fmt: skip
    if out.returncode not in (0, 1):
        raise RuntimeError(out.stderr[-3000:])
    return time.perf_counter() - start


STAGE_WORK = ("validate", "preprocess", "train", "evaluate", "backtest")


def _overhead(experiment: str) -> tuple[float, float, float, dict[str, float]]:
    """Per ticker of a watchlist, medians: the time its task took beyond its stages' compute, and the recording.

    A ticker's time is its task's, as the watchlist table gives it (from the subflow's start to its end, the
    worker's one-time imports excluded); stage work is validate..backtest; the recording (promote: log the
    run, the model, the gate, register) is the rest of the record and reported on its own.
    """
    import statistics

    import mlflow
    import pandas as pd

    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    runs = client.search_runs([exp.experiment_id], max_results=100)
    parent = next(r for r in runs if "stockflow.reporting.watchlist" in r.data.tags)
    table = pd.read_csv(client.download_artifacts(parent.info.run_id, "watchlist.csv"))
    children = {r.info.run_id: r for r in runs if r.info.status == "FINISHED" and r is not parent}
    beyond, recording, mae = [], [], {}
    for row in table[table["status"] == "ok"].itertuples():
        metrics = children[row.run_id].data.metrics
        stages = sum(metrics[f"time/{s}_s"] for s in STAGE_WORK)
        recording.append(metrics["time/promote_s"])
        beyond.append(row.seconds - stages - metrics["time/promote_s"])
        mae[row.ticker] = metrics.get("Headline/mae_pct", float("nan"))
    return statistics.median(beyond), statistics.median(recording), float(table["seconds"].mean()), mae


def main() -> None:
    root, tickers = _project()
    try:
        loop = sum(_stockflow(root, "--ticker", t, "--set", "mlflow.experiment=bench-loop") for t in tickers)
        timings = {"loop: 8 processes in a row": loop}
        for label, args in (("watchlist, 1 worker", ["--workers", "1"]), ("watchlist, 2 workers", ["--workers", "2"]),
                            ("watchlist, Dask, 2 workers", ["--runner", "dask", "--workers", "2"])):  # fmt: skip
            experiment = "bench-" + label.replace(" ", "").replace(",", "-")
            timings[label] = _stockflow(root, "--tickers", ",".join(tickers), *args, "--set",
                                        f"mlflow.experiment={experiment}")  # fmt: skip
            if label == "watchlist, 2 workers":
                overhead, recording, task_mean, mae = _overhead(experiment)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(tickers)
    print(f"\nwatchlist of {n} real series (sp500 and nasdaq, four 5-year windows each), default settings")
    print(f"  {'':<30}{'seconds':>9}{'tickers/hour':>14}{'vs loop':>9}")
    for label, seconds in timings.items():
        print(f"  {label:<30}{seconds:>9.1f}{n * 3600 / seconds:>14,.0f}{loop / seconds:>8.2f}x")
    one, two = timings["watchlist, 1 worker"], timings["watchlist, 2 workers"]
    print(
        f"  2 workers vs 1: {one / two:.2f}x; per ticker (2 workers, medians): {overhead:.1f} s beyond its "
        f"stages' compute and the recording, which took {recording:.1f} s; outside the tickers' tasks (start-up, "
        f"worker imports, hand-offs) {2 * two / n - task_mean:.1f} s per ticker and worker"
    )
    per_ticker = two / n
    print(f"  500 tickers at this pace: {500 * per_ticker / 3600:.1f} h on 2 workers here; with N workers on N cores "
          f"about {500 * per_ticker * 2 / 3600:.1f} h / N (plus one start-up)")  # fmt: skip
    worse = [k for k, v in mae.items() if v > 100]
    verdict = f"worse than persistence: {', '.join(worse)}" if worse else "none worse than persistence"
    listed = ", ".join(f"{k} {v:.2f}" for k, v in sorted(mae.items()))
    print(f"  MAE % of persistence per ticker: {listed}; {verdict}")
