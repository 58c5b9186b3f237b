"""A real market in one command: ingest a 500-stock panel file and a 150-file Stooq download, each as a whole
`stockflow ingest` process, beside `pandas.read_csv` of the same file; then Alpha158 over the panel.

The data are the project's shared development files (`../shared/data`, or $STOCKFLOW_MARKET_DATA): a bench-only
input, never read by the product. Each figure is one process, timed from outside, its peak memory read from the
kernel's account of that child (`wait4`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PANEL, STOOQ = "us500-stooq-2005-2020.csv.gz", "stooq-nasdaq150-2013-2024.tar.gz"


def _data() -> Path | None:
    folder = Path(os.environ.get("STOCKFLOW_MARKET_DATA", REPO.parent / "shared" / "data"))
    return folder if (folder / PANEL).is_file() else None


def _measured(args: list[str], cwd: Path) -> tuple[float, float, str]:
    """Seconds, peak memory (GB) and output of one process."""
    started = time.perf_counter()
    proc = subprocess.Popen(args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    out = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    if status != 0:
        raise RuntimeError(f"{' '.join(args)} failed:\n{out[-2000:]}")
    return time.perf_counter() - started, usage.ru_maxrss / 1024**2, out


def _project() -> Path:
    root = Path(tempfile.mkdtemp(prefix="stockflow-bench-market-"))
    shutil.copy(REPO / "params.yaml", root)
    shutil.copytree(REPO / "expectations", root / "expectations")
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    subprocess.run([sys.executable, "-m", "dvc", "init", "-q"], cwd=root, check=True)
    return root


ALPHA158 = """
import resource, time
from stockflow.universe import factors, panel
from tasks import sources
p = panel.align(sources.market("panel:{path}").frames())  # the frames let go once aligned, as universe_preprocess does
started = time.perf_counter()
f = factors.alpha158(p.open, p.high, p.low, p.close, p.volume)
print(f"{{time.perf_counter() - started:.1f}}")
"""


def main() -> None:
    data = _data()
    if data is None:
        print("\nmarket: skipped (no shared market data; set STOCKFLOW_MARKET_DATA to the folder of "
              f"{PANEL} and {STOOQ})")  # fmt: skip
        return
    python, stockflow = sys.executable, [sys.executable, "-m", "flows.cli"]
    print("\na market in one command (one process each; peak memory of that process):")
    read = f"import pandas; pandas.read_csv({str(data / PANEL)!r})"
    ref_s, ref_gb, _ = _measured([python, "-c", read], REPO)
    print(f"  {'pandas.read_csv of the panel file (the reference)':<58}{ref_s:>7.1f} s {ref_gb:>6.2f} GB")
    root = _project()
    try:
        for label, spec in (("ingest panel: 500 tickers x 15 years, --universe", f"panel:{data / PANEL}"),
                            ("the same again (every ticker compared with the held one)", f"panel:{data / PANEL}"),
                            ("ingest stooq: 150 files in a .tar.gz, --universe", f"stooq:{data / STOOQ}")):  # fmt: skip
            name = "us500" if "panel" in spec else "nasdaq150"
            if "stooq" in spec:
                for f in (root / "data").glob("*.csv"):  # a market of its own (its history is adjusted otherwise)
                    f.unlink()
            s, gb, _ = _measured([*stockflow, "ingest", "--source", spec, "--universe", name, "--root", str(root)],
                                 REPO)  # fmt: skip
            print(f"  {label:<58}{s:>7.1f} s {gb:>6.2f} GB   {s / ref_s:>5.1f}x the reference")
        started = time.perf_counter()
        subprocess.run([python, "-m", "dvc", "status", "-q"], cwd=root, capture_output=True)
        print(f"  {'dvc status with the market in data/':<58}{time.perf_counter() - started:>7.1f} s")
    finally:
        shutil.rmtree(root, ignore_errors=True)
    s, gb, out = _measured([python, "-c", ALPHA158.format(path=data / PANEL)], REPO)
    print(f"  {'Alpha158 on the panel (158 factors, 3,753 days x 500)':<58}{float(out.strip()):>7.1f} s {gb:>6.2f} GB"
          "   (the process: reading and aligning too)")  # fmt: skip
