"""Where `stockflow run`'s time goes: start-up against the stages and the recording, in the same run."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

from benchmarks.timing import timed

# A setting that changes nothing the model or strategy sees, so neither run is published into outputs/ and dvc.lock.
MARK = ["--set", "mlflow.experiment=bench"]


SHORT = ["--set", "train.epochs=3", "--set", "train.patience=0"]
ROUNDS = 3


def against_plain_keras(root: Path) -> None:
    """`stockflow run` (3 epochs, no early stopping) against a plain Keras script on the same data, whole
    processes, alternated so that both meet the same machine; the medians and their ratio."""
    env = {**os.environ, "TQDM_DISABLE": "1"}
    script = str(Path(__file__).with_name("plain_keras.py"))
    commands = {"stockflow run": [sys.executable, "-m", "flows.cli", "run", *MARK, *SHORT],
                "plain Keras script": [sys.executable, script, str(root / "data" / "sp500.csv")]}  # fmt: skip
    seconds: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(ROUNDS):
        for name, command in commands.items():
            start = time.perf_counter()
            subprocess.run(command, check=True, capture_output=True, env=env)
            seconds[name].append(time.perf_counter() - start)
    ours, plain = (sorted(s)[len(s) // 2] for s in seconds.values())
    print(f"\nstockflow run against a plain Keras script, 3 epochs, no early stopping, median of {ROUNDS}:")
    print(f"  stockflow run {ours:.1f} s, plain Keras script {plain:.1f} s: {ours / plain:.2f}x (goal <= 1.5x)")


def main() -> None:
    from tasks.kinds import TICKER
    from tasks.services import execution

    root = Path.cwd()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.cli", "run", *MARK], check=True, capture_output=True,
                   env={**os.environ, "TQDM_DISABLE": "1"})  # fmt: skip
    total = time.perf_counter() - start

    # The same execution in-process, each stage timed, then the recording (MLflow, the gate).
    (ex, opened) = timed(execution.begin, root, execution.Workspace.project(root).load_params().data.tickers[0],
                         [MARK[1]], trigger="bench")  # fmt: skip
    compute = {}
    for stage in TICKER.names[:-1]:
        _, compute[stage] = timed(execution.compute, ex, stage)
    _, recording = timed(execution.conclude, ex)
    startup = max(total - sum(compute.values()) - recording - opened, 0.0)
    print(f"stockflow run on {ex.ticker}: {total:.1f} s end to end (a process of its own, its own Prefect server)")
    rows = [("start-up (imports, Prefect server)", startup), ("open the run (snapshot, provenance)", opened),
            *compute.items(), ("promote: record the run, gate, register", recording)]  # fmt: skip
    for name, seconds in rows:
        print(f"  {name:<44}{seconds:>7.1f} s  {seconds / total:>6.1%}")
    against_plain_keras(root)
