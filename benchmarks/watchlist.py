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
    from stockflow.prices import to_csv_text
    from tasks.ingest import load_source

    root = Path(tempfile.mkdtemp(prefix="stockflow-bench-watchlist-"))
    shutil.copy("params.yaml", root / "params.yaml")
    shutil.copytree("expectations", root / "expectations")
    (root / "data").mkdir()
    tickers = []
    for sample in ("sp500", "nasdaq"):
        prices, _ = load_source(f"sample:{sample}")
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


def _overhead(root: Path, experiment: str) -> tuple[float, dict[str, float]]:
    """Per ticker in a watchlist: the run's wall time beyond its stages' own compute, and each ticker's MAE %."""
    import mlflow

    client = mlflow.MlflowClient()
    exp = client.get_experiment_by_name(experiment)
    runs = [r for r in client.search_runs([exp.experiment_id], max_results=100) if "stockflow.watchlist" not in
            r.data.tags and r.info.status == "FINISHED"]  # fmt: skip
    beyond = []
    for run in runs:
        stages = sum(v for k, v in run.data.metrics.items() if k.startswith("time/"))
        beyond.append((run.info.end_time - run.info.start_time) / 1000 - stages)
    mae = {r.data.tags["stockflow.ticker"]: r.data.metrics.get("Headline/mae_pct", float("nan")) for r in runs}
    return (sum(beyond) / len(beyond) if beyond else float("nan")), mae


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
                overhead, mae = _overhead(root, experiment)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    n = len(tickers)
    print(f"\nwatchlist of {n} real series (sp500 and nasdaq, four 5-year windows each), default settings")
    print(f"  {'':<30}{'seconds':>9}{'tickers/hour':>14}{'vs loop':>9}")
    for label, seconds in timings.items():
        print(f"  {label:<30}{seconds:>9.1f}{n * 3600 / seconds:>14,.0f}{loop / seconds:>8.2f}x")
    one, two = timings["watchlist, 1 worker"], timings["watchlist, 2 workers"]
    print(f"  2 workers vs 1: {one / two:.2f}x; per ticker beyond its stages' compute (2 workers): {overhead:.1f} s")
    per_ticker = two / n
    print(f"  500 tickers at this pace: {500 * per_ticker / 3600:.1f} h on 2 workers here; with N workers on N cores "
          f"about {500 * per_ticker * 2 / 3600:.1f} h / N (plus one start-up)")  # fmt: skip
    worse = [k for k, v in mae.items() if v > 100]
    verdict = f"worse than persistence: {', '.join(worse)}" if worse else "none worse than persistence"
    listed = ", ".join(f"{k} {v:.2f}" for k, v in sorted(mae.items()))
    print(f"  MAE % of persistence per ticker: {listed}; {verdict}")
