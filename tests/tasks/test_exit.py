"""A process that ends without its libraries' exit hooks leaves the MLflow store as it found it."""

from __future__ import annotations

import subprocess
import sys

from tests.helpers import every_run

SCRIPT = """
import sys
from pathlib import Path
from tasks.services.process import exit_without_hooks, quiet
quiet()
from tasks.services.tracking import Tracker
tracker = Tracker(Path(sys.argv[1]), "stockflow")
run_id = tracker.open_run("the one run", {}, {})
tracker.finish(run_id)
exit_without_hooks(0)
"""


def test_exit_without_hooks_starts_no_run_of_its_own(tmp_path):
    out = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    runs = every_run(tmp_path)  # every experiment: MLflow's flush helpers would start one in Default
    assert [(r.info.run_name, r.info.status) for r in runs] == [("the one run", "FINISHED")]
