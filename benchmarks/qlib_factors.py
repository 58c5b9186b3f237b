"""Alpha158 beside Qlib's own: the us500 panel's bars given to both engines, each as a process of its own (time and
peak memory), then every factor compared on the same (date, ticker) cells.

Qlib (pyqlib 0.9.7) lives in a bench-only environment, `.venv-qlib` (`make bench` makes it; its pins are in the
Makefile), never in the product's. The bars are written in Qlib's binary layout (calendar, instruments, one
float32 file per field), with vwap = (high + low + close) / 3 as stockflow takes it where none is given. Both
engines read the raw bars (nothing masked): the comparison is of the operators.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
from pathlib import Path

import numpy as np

from benchmarks.market import PANEL, REPO, _data, _measured

QLIB_PYTHON = REPO / ".venv-qlib" / "bin" / "python"

OURS = """
import numpy as np, time
from stockflow.universe import factors, panel
from tasks import sources
p = panel.align(sources.market("panel:{path}").frames())
bars = [p.open, p.high, p.low, p.close, p.volume]
if {as_stored}:  # the bars as Qlib stores them: float32
    bars = [b.astype(np.float32).astype(np.float64) for b in bars]
started = time.perf_counter()
f = factors.alpha158(*bars)
print(f"{{time.perf_counter() - started:.1f}}")
np.save("{out}", f)
"""


def _write_qlib(folder: Path) -> None:
    """The panel in Qlib's layout, and grid.json: the dates, tickers and factor names the results are laid on."""
    from stockflow.universe import panel
    from stockflow.universe.factors import ALPHA158
    from tasks import sources

    data = _data()
    p = panel.align(sources.market(f"panel:{data / PANEL}").frames())
    days = [str(d)[:10] for d in p.dates]
    (folder / "calendars").mkdir(parents=True)
    (folder / "calendars" / "day.txt").write_text("\n".join(days) + "\n")
    fields = {"open": p.open, "high": p.high, "low": p.low, "close": p.close, "volume": p.volume,
              "vwap": (p.high + p.low + p.close) / 3}  # fmt: skip
    lines = []
    for j, ticker in enumerate(p.tickers):
        known = np.flatnonzero(~np.isnan(p.close[:, j]))
        first, last = int(known[0]), int(known[-1])
        lines.append(f"{ticker}\t{days[first]}\t{days[last]}")
        target = folder / "features" / ticker.lower()
        target.mkdir(parents=True)
        for name, values in fields.items():
            np.hstack([[first], values[first : last + 1, j]]).astype("<f").tofile(target / f"{name}.day.bin")
    (folder / "instruments").mkdir()
    (folder / "instruments" / "all.txt").write_text("\n".join(lines) + "\n")
    grid = {"start": days[0], "end": days[-1], "dates": days, "tickers": list(p.tickers), "names": list(ALPHA158)}
    (folder / "grid.json").write_text(json.dumps(grid))


def _compare(ours: np.ndarray, theirs: np.ndarray) -> list[dict]:
    from stockflow.universe.factors import ALPHA158

    rows = []
    for k, name in enumerate(ALPHA158):
        a, b = ours[..., k], theirs[..., k]
        both = np.isfinite(a) & np.isfinite(b)
        diff = np.abs(a[both].astype(np.float64) - b[both])
        scale = np.maximum(np.abs(b[both]).astype(np.float64), 1e-3)
        rows.append({"factor": name, "cells": int(both.sum()), "max_abs": float(diff.max()) if diff.size else np.nan,
                     "max_rel": float((diff / scale).max()) if diff.size else np.nan,
                     "p999_rel": float(np.quantile(diff / scale, 0.999)) if diff.size else np.nan,
                     "only_qlib": int((np.isfinite(b) & ~np.isfinite(a)).sum()),
                     "only_ours": int((np.isfinite(a) & ~np.isfinite(b)).sum())})  # fmt: skip
    return rows


def main() -> None:
    data = _data()
    if data is None or not QLIB_PYTHON.is_file():
        why = "no shared market data" if data is None else f"no {QLIB_PYTHON} (make bench makes it)"
        print(f"\nAlpha158 beside Qlib: skipped ({why})")
        return
    folder = Path(tempfile.mkdtemp(prefix="stockflow-bench-qlib-"))
    try:
        _write_qlib(folder)
        ours = lambda name, stored: _measured([sys.executable, "-c", OURS.format(  # noqa: E731
            path=data / PANEL, out=folder / name, as_stored=stored)], REPO)  # fmt: skip
        ours_s, ours_gb, out = ours("ours.npy", False)
        ours_compute = float(out.strip().splitlines()[-1])
        side = [str(QLIB_PYTHON), str(REPO / "benchmarks" / "qlib_side.py"), str(folder), str(folder / "qlib.npy")]
        qlib_s, qlib_gb, out = _measured(side, folder)
        qlib_compute = float(out.strip().splitlines()[-1])
        theirs = np.load(folder / "qlib.npy")
        rows = _compare(np.load(folder / "ours.npy"), theirs)
        ours("ours32.npy", True)
        as_stored = {r["factor"]: r for r in _compare(np.load(folder / "ours32.npy"), theirs)}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print("\nAlpha158 on the us500 panel (500 tickers x 3,753 days), each engine a process of its own:")
    print(f"  {'':<34}{'factors':>9}{'process':>9}{'peak':>9}")
    print(f"  {'stockflow':<34}{ours_compute:>7.1f} s{ours_s:>7.1f} s{ours_gb:>6.2f} GB")
    print(f"  {'Qlib 0.9.7 (D.features, 1 kernel)':<34}{qlib_compute:>7.1f} s{qlib_s:>7.1f} s{qlib_gb:>6.2f} GB")
    print(f"  stockflow is {qlib_compute / ours_compute:.1f}x as fast on the factors, {qlib_gb / ours_gb:.1f}x lighter")
    exact = [r for r in rows if r["max_rel"] <= 1e-5]
    print(
        f"\n  {len(exact)} of {len(rows)} factors agree to float32 precision (relative 1e-5) on every cell both have."
    )
    print("  The others: the largest relative deviation and its 99.9th percentile, then the same with stockflow given")
    print("  the bars as Qlib stores them (float32); cells only Qlib has, only stockflow has:")
    for r in rows:
        if r["max_rel"] > 1e-5:
            same = as_stored[r["factor"]]
            print(f"    {r['factor']:<8}{r['max_rel']:>10.1e}{r['p999_rel']:>10.1e}   {same['max_rel']:>10.1e}"
                  f"{same['p999_rel']:>10.1e}{r['only_qlib']:>10}{r['only_ours']:>7}")  # fmt: skip
    gaps = sum(r["only_qlib"] for r in rows)
    print(f"  cells Qlib fills and stockflow leaves missing (partial windows, Qlib's min_periods=1): {gaps:,}")
