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


def main() -> None:
    from tasks import catalog, execution

    root = Path.cwd()
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "flows.cli", "run", *MARK], check=True, capture_output=True,
                   env={**os.environ, "TQDM_DISABLE": "1"})  # fmt: skip
    total = time.perf_counter() - start

    # The same execution in-process, each stage timed, then the recording (MLflow, the gate).
    (ex, opened) = timed(execution.begin, root, execution.Workspace.project(root).load_params().data.tickers[0],
                         [MARK[1]], trigger="bench")  # fmt: skip
    compute = {}
    for stage in catalog.NAMES[:-1]:
        _, compute[stage] = timed(execution.compute, ex, stage)
    _, recording = timed(execution.conclude, ex)
    startup = max(total - sum(compute.values()) - recording - opened, 0.0)
    print(f"stockflow run on {ex.ticker}: {total:.1f} s end to end (a process of its own, its own Prefect server)")
    rows = [("start-up (imports, Prefect server)", startup), ("open the run (snapshot, provenance)", opened),
            *compute.items(), ("promote: record the run, gate, register", recording)]  # fmt: skip
    for name, seconds in rows:
        print(f"  {name:<44}{seconds:>7.1f} s  {seconds / total:>6.1%}")
