"""`stockflow replay --universe NAME` on file and in MLflow: one parent run, one child run per segment.

The replay's statistics are `stockflow/universe/rolling.py`'s; `flows/replay.py` fans the segments out
over a task runner (a process pool or Dask), each segment reading the features computed once
here from files memory-mapped by every worker. The registry is never touched: a replay asks
"what would retraining every step have found, out of sample?", it deploys nothing.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stockflow.config import Params, flatten
from stockflow.universe import portfolio, rolling
from stockflow.universe.panel import Panel, Prepared, prepare
from tasks.kinds import UNIVERSE
from tasks.services import catalog, provenance, tracking
from tasks.services.execution import run_stage
from tasks.services.failures import failure_reason
from tasks.services.files import save_figure, write_csv, write_json
from tasks.services.tracking import tracker_for
from tasks.services.workspace import Workspace
from tasks.stages import universe_preprocess
from tasks.stages.universe_preprocess import read_panel

PANEL_ARRAYS = ("close", "open", "high", "low", "volume")


@dataclass(frozen=True)
class UniverseReplay:
    """A universe's replay in flight: its workspace (the features on file), settings, parent run and segments."""

    ws: Workspace
    name: str
    params: Params
    run_id: str
    segments: list[rolling.Segment]
    every: str

    @property
    def folder(self) -> Path:
        return self.ws.work / "replay"


def begin(root: Path | str, name: str, start: str, months: int, end: str | None, overrides: list[str],
          progress: bool = False) -> UniverseReplay:  # fmt: skip
    """Snapshot the universe's data, pass it through the data gate, compute its features once (to file), cut the
    segments, open the parent run."""
    root = Path(root).resolve()
    params = Workspace.project(root).load_params(overrides)
    subject = UNIVERSE.checked(params, name)
    ws = Workspace.private(root, subject.registered)
    try:
        for ticker in subject.tickers:
            ws.snapshot_data(ticker)
        run_stage(ws, params, name, "universe_validate")
        panel, findings = read_panel(catalog.files(universe_preprocess.STAGE, ws, name), params, name)
        p = params.universe.preprocess
        segments = rolling.segments(panel.dates, start, months, end)
        prepared = prepare(panel, p.lookback, p.label, p.features, p.horizon)
        _save(prepared, ws.work / "replay")
        code_tags, _ = provenance.code_version(root)
        every = f"{months}M"
        tags = {**code_tags, **tracking.subject_tags(name, subject.tickers), tracking.TRIGGER: "replay",
                "stockflow.champion.replay": f"{len(segments)} segments every {every} from {start}"}  # fmt: skip
        settings = provenance.describe(subject.label, params, root, UNIVERSE)
        run_id = tracker_for(root, params).open_run(f"replay {settings} every {every} from {start}",
                                                    provenance.recorded_params(params, UNIVERSE), tags)  # fmt: skip
    except BaseException:
        ws.remove()
        raise
    return UniverseReplay(dataclasses.replace(ws, run_id=run_id), name, params, run_id, segments, every)


def _save(p: Prepared, folder: Path) -> None:
    """The prepared panel as plain .npy files, which every worker maps into memory rather than copies."""
    folder.mkdir(parents=True, exist_ok=True)
    arrays = {"dates": p.panel.dates.astype(np.int64), "feats": p.feats, "y": p.y, "ok": p.ok,
              **{k: getattr(p.panel, k) for k in PANEL_ARRAYS if getattr(p.panel, k) is not None}}  # fmt: skip
    for key, values in arrays.items():
        np.save(folder / f"{key}.npy", values)
    meta = {"tickers": list(p.panel.tickers), "lookback": p.lookback, "label": p.label, "kind": p.kind,
            "horizon": p.horizon}  # fmt: skip
    (folder / "prepared.json").write_text(json.dumps(meta))


def _load(folder: Path) -> Prepared:
    meta = json.loads((folder / "prepared.json").read_text())
    a = lambda key: np.load(folder / f"{key}.npy", mmap_mode="r") if (folder / f"{key}.npy").is_file() else None  # noqa: E731
    panel = Panel(np.asarray(a("dates")).astype("datetime64[ns]"), tuple(meta["tickers"]),
                  *(None if a(k) is None else np.asarray(a(k)) for k in PANEL_ARRAYS))  # fmt: skip
    return Prepared(panel, a("feats"), np.asarray(a("y")), np.asarray(a("ok")), meta["lookback"], meta["label"],
                    meta["kind"], meta["horizon"])  # fmt: skip


def segment(r: UniverseReplay, k: int) -> dict[str, Any]:
    """Retrain for segment k on the dates before it, score its validation and test steps, choose each scorer's
    portfolio rules on validation; the scores to file, the segment as a child run."""
    p = _load(r.folder)
    seg = r.segments[k]
    u = r.params.universe
    data = rolling.segment_data(p, seg)
    model, scores = rolling.score_segment(data, u.train, u.evaluate.ridge_samples)
    q = u.portfolio
    grid = portfolio.candidates(q.ks, q.ns, q.weightings, *_costs(r.params), p.horizon, q.every)
    rules = rolling.choose_rules(data, scores, grid, u.portfolio.objective, u.portfolio.min_information_ratio)
    np.savez(r.folder / f"segment_{k}.npz", test_days=data.split_days["test"], **scores)
    outcome = p.panel.outcome(p.horizon)
    report, _ = rolling.judged(scores, outcome, p.panel.dates, [data.split_days["test"]], [seg.label])
    figures = {"train_samples": len(data.windows["train"]), "test_days": len(data.split_days["test"]),
               **{f"{name}.rank_ic": v for name, v in report["segments"][0].items() if name != "segment"}}  # fmt: skip
    tracker = tracker_for(r.ws.root, r.params)
    child = tracker.open_run(f"{r.name}@{seg.test_start.date()}", {},
                             {tracking.AS_OF: str(seg.test_start.date()), **tracking.subject_tags(r.name, None),
                              "stockflow.segment": seg.label, "stockflow.rules": rules["model"].label()},
                             parent=r.run_id)  # fmt: skip
    tracker.log_metrics(child, {k: v for k, v in figures.items() if v == v})
    tracker.finish(child)
    return {"k": k, "segment": seg.label, **figures, "rules": {n: dataclasses.asdict(x) for n, x in rules.items()}}


def _costs(params: Params) -> tuple[float, float]:
    return params.backtest.commission, params.backtest.slippage


def conclude(r: UniverseReplay, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The stitched out-of-sample scores judged as one and per segment, the portfolios joined, on the parent run."""
    from stockflow.reporting import plots

    p = _load(r.folder)
    panel, results = p.panel, sorted(results, key=lambda x: x["k"])
    parts = [np.load(r.folder / f"segment_{x['k']}.npz") for x in results]
    days = [z["test_days"] for z in parts]
    scorers = [k for k in parts[0].files if k != "test_days"]
    stitched = {s: rolling.stitch(panel.close.shape, [(z["test_days"], z[s]) for z in parts]) for s in scorers}
    report, table = rolling.judged(
        stitched, panel.outcome(p.horizon), panel.dates, days, [x["segment"] for x in results]
    )
    every_day = np.concatenate(days)
    equal = portfolio.equal_weight(panel, every_day, *_costs(r.params))
    trade = lambda key, d, x: portfolio.trade(panel, stitched[rolling.scorer_of(key)], d,  # noqa: E731
                                              portfolio.Rules(**x["rules"][key]))  # fmt: skip
    traded = {key: rolling.joined([trade(key, d, x) for d, x in zip(days, results, strict=True)])
              for key in results[0]["rules"]}  # fmt: skip
    report["portfolio"] = {**{key: portfolio.metrics(t, equal) for key, t in traded.items()},
                           "equal_weight": portfolio.metrics(equal)}  # fmt: skip
    report["held_equal_weight"] = {key: sum(x["rules"][key]["weighting"] == portfolio.UNIVERSE for x in results)
                                   for key in traded}  # fmt: skip
    report.update(universe=r.name, segments_run=len(results), every=r.every, run_id=r.run_id,
                  start=str(pd.Timestamp(panel.dates[every_day[0]]).date()),
                  end=str(pd.Timestamp(panel.dates[every_day[-1]]).date()), test_days=int(len(every_day)))  # fmt: skip
    out = r.folder / "outputs"
    out.mkdir(exist_ok=True)
    write_csv(table[["scorer", "date", "ic", "rank_ic", "names"]], out / "ic.csv", float_format="%.6g")
    write_csv(pd.DataFrame(report["segments"]), out / "segments.csv", float_format="%.6g")
    equity = pd.DataFrame({**{s: t.equity for s, t in traded.items()}, "equal_weight": equal.equity})
    write_csv(equity, out / "equity.csv", index=True, index_label="date", float_format="%.8g")
    write_json(out / "replay.json", report)
    title = f"{r.name}: retrained every {r.every}, out of sample"
    save_figure(plots.cumulative_ic(table, f"{title}: cumulative Rank IC"), out / "cumulative_ic.png")
    save_figure(plots.equity_curves(equity, f"{title}, net of costs"), out / "equity.png")
    tracker = tracker_for(r.ws.root, r.params)
    for name in ("ic.csv", "segments.csv", "equity.csv", "replay.json", "cumulative_ic.png", "equity.png"):
        tracker.log_file(r.run_id, out / name, "replay")
    figures = {f"replay/{s}.{k}": v for s, card in report["all"].items() for k, v in flatten(card).items()}
    figures.update({f"replay/portfolio.{s}.{k}": v for s, m in report["portfolio"].items() for k, v in m.items()})
    tracker.log_metrics(r.run_id, {k: v for k, v in figures.items() if isinstance(v, float | int) and v == v})
    tracker.finish(r.run_id)
    r.ws.remove()
    return report


def abort(r: UniverseReplay, exc: BaseException) -> None:
    """End the parent run FAILED with the reason; remove the workspace."""
    try:
        tracker_for(r.ws.root, r.params).finish(r.run_id, failure=failure_reason(exc))
    finally:
        r.ws.remove()
