"""A study's cost and what it finds, as ratios against references measured in the same run.

- Overhead: 30 trials on the S&P 500 (`stockflow tune` as a user runs it, one worker) against the same 30
  settings trained in a plain loop in this process (the reference: no Optuna, no MLflow, no Prefect). The
  search phase runs from the study's MLflow run start to its last trial's end (then come the tuned and default
  runs, timed apart). Pruning is off in both studies, so that each trial does the same work as its loop twin.
- Parallel: the same 30 settings as a study on two workers (processes sharing the study's SQLite database, the
  settings queued in it), against one worker.
- What it finds: the tuned run beside the default one on validation and test, beside persistence; and a universe
  study on a planted universe (the tuned validation Rank IC, and what the test window gave).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TRIALS, EPOCHS = 30, 3  # 3 epochs a trial: a study of 30 trials takes minutes here, not hours
SETS = [f"tune.trials={TRIALS}", f"train.epochs={EPOCHS}", "tune.pruning=false"]


def _project() -> Path:
    """A throwaway project (no DVC: nothing is published) with the embedded S&P 500 as `sp500`."""
    from stockflow.data.prices import to_csv_text
    from tasks import sources

    root = Path(tempfile.mkdtemp(prefix="stockflow-bench-tune-"))
    shutil.copy("params.yaml", root / "params.yaml")
    shutil.copytree("expectations", root / "expectations")
    (root / "data").mkdir()
    (root / "data" / "sp500.csv").write_text(to_csv_text(sources.load("sample:sp500")[0].prices.frame))
    return root


def _tune(root: Path, *args: str) -> tuple[str, float]:
    """`stockflow tune` in a process of its own: its output and wall time."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "flows.cli", "tune", "--root", str(root), *args], capture_output=True,
                         text=True, env={**os.environ, "TQDM_DISABLE": "1"})  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(out.stdout[-2000:] + out.stderr[-3000:])
    return out.stdout, time.perf_counter() - start


def _phases(root: Path, study: str) -> tuple[float, float, list[dict]]:
    """From the study's MLflow record: the search phase's seconds, the trials' own seconds (summed), each trial's
    settings."""
    import mlflow

    client = mlflow.MlflowClient(f"sqlite:///{root / 'mlruns' / 'mlflow.db'}")
    exp = client.get_experiment_by_name("stockflow")
    runs = client.search_runs([exp.experiment_id], filter_string=f"tags.`stockflow.study` = '{study}'",
                              max_results=500)  # fmt: skip
    parent = next(r for r in runs if "stockflow.trial" not in r.data.tags)
    trials = sorted((r for r in runs if "stockflow.trial" in r.data.tags), key=lambda r: r.info.end_time)
    search = (trials[-1].info.end_time - parent.info.start_time) / 1000
    own = sum(r.info.end_time - r.info.start_time for r in trials) / 1000
    from optuna import load_study

    settings = [t.params for t in load_study(study_name=study, storage=f"sqlite:///{root / 'mlruns/optuna.db'}").trials]
    return search, own, settings


def _same_trials(root: Path, study: str, settings: list[dict]) -> None:
    """The study `study` made beforehand with `settings` queued (its first, the settings to beat, it queues itself):
    two workers then train what one did, not what TPE would have sampled with another history."""
    from tasks.commands import tune
    from tasks.kinds import TICKER
    from tasks.services.workspace import Workspace

    ws = Workspace.project(root)
    params = ws.load_params(SETS)
    made = tune.study_for(ws, params, tune.target_for(params, "sp500", TICKER, SETS), study, create=True)
    for values in settings[1:]:
        made.enqueue_trial(values)


def _plain_loop(root: Path, settings: list[dict]) -> float:
    """The same trials, one after another, in this process: the data read once, each model trained and scored."""
    from stockflow import tuning
    from tasks.services.files import read_price_file
    from tasks.services.workspace import Workspace

    ws = Workspace.project(root)
    prices = read_price_file(root / "data" / "sp500.csv")
    tuning.ticker_objective(prices, ws.load_params(SETS))  # TensorFlow's start-up, outside the timing
    start = time.perf_counter()
    for values in settings:
        tuning.ticker_objective(prices, ws.load_params([*SETS, *tuning.as_overrides(values)]))
    return time.perf_counter() - start


def _universe_study() -> str:
    """A study of a planted universe's network (16 tickers x 1,500 days): its summary."""
    from stockflow.data import synthetic
    from stockflow.data.prices import to_csv_text

    root = _project()
    try:
        frames = synthetic.universe(16, 1500, synthetic.PLANTED, seed=1)
        for ticker, frame in frames.items():
            (root / "data" / f"{ticker}.csv").write_text(to_csv_text(frame))
        sets = [f"universes.planted=[{','.join(frames)}]", "tune.trials=8", "universe.train.epochs=4",
                "universe.evaluate.control=false"]  # fmt: skip
        out, seconds = _tune(root, "--universe", "planted", *[a for s in sets for a in ("--set", s)])
        return out.split("  MLflow run:")[0] + f"  ({seconds:.0f} s in all)"
    finally:
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    root = _project()
    try:
        sets = [a for s in SETS for a in ("--set", s)]
        text, one_wall = _tune(root, "--ticker", "sp500", "--study", "one", *sets)
        one, one_own, settings = _phases(root, "one")
        loop = _plain_loop(root, settings)
        _same_trials(root, "two", settings)
        _, two_wall = _tune(root, "--ticker", "sp500", "--study", "two", "--workers", "2", *sets)
        two, two_own, _ = _phases(root, "two")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"\ntuning: {TRIALS} trials on sp500 ({EPOCHS} epochs each, pruning off), the default search space")
    print(f"  {'':<44}{'seconds':>9}{'vs loop':>9}")
    print(f"  {'plain loop, the same 30 settings':<44}{loop:>9.1f}{1:>8.2f}x")
    print(f"  {'study, 1 worker: the search':<44}{one:>9.1f}{one / loop:>8.2f}x   (goal <= 1.3x)")
    print(f"  {'study, 2 workers: the search':<44}{two:>9.1f}{two / loop:>8.2f}x   "
          f"{two / one:.2f}x of 1 worker (goal <= 0.65x)")  # fmt: skip
    print(f"  per trial beyond its training (1 worker): {(one - loop) / TRIALS:.2f} s; trials' own time summed: "
          f"{one_own:.0f} s (1 worker), {two_own:.0f} s (2 workers: each trial on one core)")  # fmt: skip
    print(f"  whole command (start-up, search, the tuned and default runs): {one_wall:.0f} s, {two_wall:.0f} s")
    print("  what the study found (1 worker):")
    print("\n".join("    " + line for line in text.split("  MLflow run:")[0].splitlines()))
    print("  a universe study: planted universe, 16 tickers x 1,500 days, 8 trials of 4 epochs")
    print("\n".join("    " + line for line in _universe_study().splitlines()))
