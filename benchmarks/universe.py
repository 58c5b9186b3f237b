"""A universe at scale, and a universe whose answer is known, as ratios against references measured in the same run.

- Scale: a synthetic 500-ticker x 20-year universe (5,000 days, about 2.4 million windows of 60 days) made into
  a panel and trained for a fixed number of batches: the peak memory of the process, and the input pipeline's
  throughput (windows gathered batch by batch, as training does) against the same network fed the same
  batches as ready-made arrays (the reference: nothing to gather).
- Known answers: a planted universe (each stock's idiosyncratic return reverting on its last five days) and one
  of pure noise, through the universe's stages in-process: the test Rank IC against the oracle's, the portfolio
  against equal weight after costs, and the gate's verdict.
"""

from __future__ import annotations

import os
import resource
import time

import numpy as np

STEPS = 60  # batches timed on each side, twice (a whole epoch of 1.8 M windows takes many minutes on 2 cores)
BATCH = 1024


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def scale(tickers: int = 500, days: int = 5000, lookback: int = 60) -> None:
    """Peak memory of a 500 x 5,000-day universe's panel and training, and its input pipeline against arrays."""
    from stockflow.config import UniverseTrainParams
    from stockflow.data import synthetic
    from stockflow.models import recurrent
    from stockflow.universe import panel

    start = time.perf_counter()
    frames = synthetic.universe(tickers, days, seed=0)
    data = panel.make_panel_data(panel.align(frames), lookback, "rank", 0.2, 0.1)
    del frames
    built = time.perf_counter() - start
    train = data.windows["train"]
    y = data.labels_of("train")
    print(
        f"\nuniverse at scale: {tickers} tickers x {days} days, {len(train):,} training windows of {lookback} days "
        f"({sum(data.sizes().values()):,} in all); panel built in {built:.0f} s, peak memory {_peak_mb():,.0f} MB"
    )
    params = UniverseTrainParams(epochs=1, batch_size=BATCH, patience=0)
    recurrent.seed_everything(0)
    model = recurrent.build_model(lookback, len(panel.FEATURES), params)
    # The same windows both ways: fit on batches gathered as Keras asks for them, and fit on them made beforehand.
    which = np.sort(np.random.default_rng(0).choice(len(train), STEPS * BATCH, replace=False))
    subset = panel.Windows(train.scaled, train.date[which], train.ticker[which], lookback)
    x, labels = subset.take(slice(None)), y[which]
    lazy_runs, array_runs = [], []
    model.fit(recurrent.batches(subset, labels, BATCH, seed=0), epochs=1, verbose=0)  # traced once, outside timing
    for _ in range(2):  # alternated, so that both meet the same machine
        t = time.perf_counter()
        model.fit(recurrent.batches(subset, labels, BATCH, seed=0), epochs=1, verbose=0)
        lazy_runs.append(len(x) / (time.perf_counter() - t))
        t = time.perf_counter()
        model.fit(x, labels, batch_size=BATCH, epochs=1, shuffle=True, verbose=0)
        array_runs.append(len(x) / (time.perf_counter() - t))
    lazy, arrays = max(lazy_runs), max(array_runs)
    print(
        f"  Keras fit on {os.cpu_count()} cores, batch {BATCH}, the same {STEPS} batches each way: gathered as asked "
        f"{lazy:,.0f} windows/s, ready-made arrays {arrays:,.0f} windows/s: {lazy / arrays:.0%} (goal >= 80%)"
    )
    print(
        f"  peak memory of the whole process (panel, network, training): {_peak_mb():,.0f} MB (goal < 4,000 MB); "
        f"an epoch here would take about {len(train) / lazy / 60:.0f} min (one H200: 13-28 s, docs/universes.md)"
    )


def known_answers() -> None:
    """The universe's stages in-process on a planted and a noise universe: Rank IC, portfolio, gate."""
    import shutil
    import tempfile
    from pathlib import Path

    from stockflow.data import synthetic
    from stockflow.data.prices import to_csv_text
    from stockflow.universe import panel, ranking
    from tasks.kinds import UNIVERSE
    from tasks.services import execution

    repo = Path(__file__).resolve().parents[1]
    print("\nuniverses whose answer is known (12 tickers x 1,500 days of closes; tiny network, 6 epochs):")
    print(f"  {'universe':<10}{'oracle RankIC':>14}{'model':>8}{'t':>7}{'control':>9}{'excess/EW':>11}{'IR':>7}  gate")
    # planted: a reversal (the reversal baseline knows it too) and a shock no baseline sees (docs/universes.md)
    for label, reversion, shock in (("planted", synthetic.PLANTED, synthetic.SHOCK), ("noise", 0.0, 0.0)):
        root = Path(tempfile.mkdtemp(prefix="stockflow-bench-universe-"))
        try:
            shutil.copy(repo / "params.yaml", root)
            shutil.copytree(repo / "expectations", root / "expectations")
            (root / "data").mkdir()
            frames = synthetic.universe(12, 1500, reversion, seed=2, shock=shock)
            for t, f in frames.items():
                (root / "data" / f"{t}.csv").write_text(to_csv_text(f))
            overrides = [
                f"universes.u=[{','.join(frames)}]",
                "universe.train.units=16",
                "universe.train.epochs=6",
                "universe.train.learning_rate=0.003",
                "universe.preprocess.lookback=20",
            ]
            ex = execution.begin(root, UNIVERSE.subject("u", {"u": tuple(frames)}), overrides, trigger="bench")
            for stage in ex.subject.names[:-1]:
                execution.compute(ex, stage)
            result = execution.conclude(ex)
            ev, bt = result["universe_evaluate"], result["universe_backtest"]
            p = panel.align(frames)
            days = np.flatnonzero(p.dates >= np.datetime64(bt["start"]))[: ev["test_days"]]
            oracle = ranking.summary(
                ranking.daily_ic(synthetic.both_oracle(frames), p.outcome(), days, p.dates)["rank_ic"]
            )["mean"]
            m, traded = ev["test"]["model"]["rank_ic"], bt["test"]["model"]
            control = ev["test"]["shuffled_labels"]["rank_ic"]["mean"]
            gate = "champion" if result["universe_promote"]["promote"] else "not champion"
            gate += ", holds equal weight" if bt["holds_equal_weight"] else ""
            print(
                f"  {label:<10}{oracle:>14.4f}{m['mean']:>8.4f}{m['t_stat']:>7.2f}{control:>9.4f}"
                f"{traded['excess_return']:>+11.1%}{traded['information_ratio']:>7.2f}  {gate}"
            )
        finally:
            shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    known_answers()
    scale()
