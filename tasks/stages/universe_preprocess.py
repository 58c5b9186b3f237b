"""Stage `universe_preprocess`: the universe as one panel (stockflow/universe/panel.py): aligned on dates, causal
features from closes, labels ranked across the universe each day, split by date, scaled on training dates only."""

from __future__ import annotations

import pandas as pd

from stockflow.config import Params
from stockflow.data import bars
from stockflow.errors import UniverseError
from stockflow.universe.panel import Panel, align, make_panel_data
from tasks.services import catalog
from tasks.services.files import read_price_file, save_panel, write_json
from tasks.services.workspace import Workspace
from tasks.stages.universe_validate import masked_bars, tickers_of

STAGE = catalog.Stage(
    "universe_preprocess",
    "the tickers aligned on their dates, causal features from closes, next-day returns ranked across the "
    "universe each day, split by date, the scaler fitted on training dates only",
    reads=(catalog.TICKERS, "universe_validate/report.json", "universe_validate/masked.csv"),
    writes=("panel.npz", catalog.SUMMARY),
    params=("universes", "universe.preprocess"),
)


def compute(ws: Workspace, params: Params, name: str) -> dict:
    """Build the panel and its samples; save them as one file."""
    f = catalog.files(STAGE, ws, name)
    p = params.universe.preprocess
    panel, findings = read_panel(f, params, name)
    try:
        starts = None if p.val_start is None else (p.val_start, p.test_start)
        data = make_panel_data(panel, p.lookback, p.label, p.test_fraction, p.val_fraction, p.features, p.horizon,
                               starts)  # fmt: skip
    except ValueError as exc:
        raise UniverseError(f"universe {name!r}: {exc}") from None
    save_panel(data, f.output("panel.npz"))
    day = lambda i: str(pd.Timestamp(panel.dates[i]).date())  # noqa: E731
    summary = {
        **{f"{split}_samples": n for split, n in data.sizes().items()},
        **{f"{split}_days": int(len(d)) for split, d in data.split_days.items()},
        "tickers": len(panel.tickers),
        "bars_masked": int((findings["action"] == bars.MASKED).sum()),
        "lookback": p.lookback,
        "features": p.features,
        "horizon": p.horizon,
        "close_only": panel.close_only,  # trades fill at the next close, features come from closes
        "train_start": day(data.split_days["train"][0]),
        "train_end": day(data.split_days["train"][-1]),
        "test_start": day(data.split_days["test"][0]),
        "test_end": day(data.split_days["test"][-1]),
        "data_through": day(len(panel.dates) - 1),
    }
    write_json(f.output(catalog.SUMMARY), summary)
    return summary


def read_panel(f: catalog.StageFiles, params: Params, name: str) -> tuple[Panel, pd.DataFrame]:
    """The universe's bars as the data gate left them (bad bars masked, unusable tickers out), aligned on dates;
    and the gate's findings."""
    findings, kept = masked_bars(f)
    frames = {t: read_price_file(path) for t, path in f.prices(tickers_of(params, name)).items()}
    frames = bars.mask({t: fr for t, fr in frames.items() if kept is None or t in kept}, findings)
    return align(frames), findings
