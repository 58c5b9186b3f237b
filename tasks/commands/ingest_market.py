"""`stockflow ingest --source panel:FILE|stooq:PATH [--universe NAME]`: a whole market in one process.

Every ticker's bars are checked in one pass (stockflow/data/bars.py), then each ticker is stored as data/<ticker>.csv
and the data version recorded once. With `--universe NAME` the tickers stored become the universe NAME, written to
data/universes/NAME.txt: versioned with the data by data.dvc, found by `stockflow run --universe NAME`, `dvc repro`
and the schedule, and never typed. Bad bars (validate.universe_policy: mask) are stored as the provider gave them
and masked whenever the universe is trained; a ticker the universe cannot use is not stored, with a line saying why.

A ticker already held is updated: new days are added; a history re-adjusted by the provider (a split or dividend
since: the past bars differ by one factor up to a date) replaces the old one, said with its factor and date; a past
that differs otherwise is refused, naming the dates, unless `replace`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from stockflow.config import Params
from stockflow.data import bars
from stockflow.data.prices import COLUMNS, to_csv_text
from stockflow.errors import StockflowError, UsageError, check_ticker
from tasks import sources
from tasks.services import dvc_repo
from tasks.services.files import atomic
from tasks.services.workspace import Workspace, md5, universe_file

RATIO_TOLERANCE = 5e-4  # providers print 5-6 significant digits: a re-adjusted price is f x the old one to this


class HistoryError(StockflowError):
    """A ticker's past bars differ from those held, and not by one factor: refused unless --replace."""


@dataclass
class Ingested:
    """What one market ingest did: the tickers written, each update, the bars checked and the time taken."""

    source: str
    written: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)  # one line per ticker whose held history changed or grew
    new_rows: int = 0  # bars newer than those held, over every ticker
    checked: bars.Checked | None = None
    universe: str | None = None
    seconds: float = 0.0

    def lines(self) -> list[str]:
        c = self.checked.counts()
        out = [
            f"{self.source}: {c['tickers']} tickers checked; {len(self.written)} written, {len(self.unchanged)} "
            f"unchanged; {c['bars_masked']} bar(s) masked, {c['bars_volume_missing']} with volume missing, "
            f"{c['bars_reported']} reported, {c['tickers_dropped']} ticker(s) left out ({self.seconds:.1f} s)"
        ]
        out += ["  " + line for line in self.checked.lines()]
        out += ["  " + line for line in self.updates]
        if self.universe:
            out.append(f"universe {self.universe}: {len(self.checked.kept)} tickers (data/universes/{self.universe}"
                       f".txt): `stockflow run --universe {self.universe}`")  # fmt: skip
        return out


def ingest_market(ws: Workspace, params: Params, source: str, universe: str | None = None,
                  tickers: set[str] | None = None, replace: bool = False) -> Ingested:  # fmt: skip
    """Check, store and record every ticker of a market source (see the module's docstring)."""
    started = time.perf_counter()
    if universe is not None:
        check_ticker(universe, where="universe")
    market = sources.market(source, tickers)
    v = params.validate_
    checked = bars.check(market.long, v.max_abs_return, v.max_gap_days, v.min_rows, v.max_bad_share)
    refused = checked.findings["action"].isin([bars.MASKED, bars.DROPPED]).any() or checked.dropped
    if (universe is None or v.universe_policy == "refuse") and refused:
        raise StockflowError("\n".join([f"{source}: refused, data/ and data.dvc are unchanged:", *checked.lines(),
                                        "A universe masks such bars (--universe NAME with validate.universe_policy:"
                                        " mask); a ticker's own file must pass the gate whole."]))  # fmt: skip
    if len(checked.kept) < 2 and universe is not None:
        raise StockflowError(f"{source}: {len(checked.kept)} usable ticker(s): a universe ranks at least two")
    result = Ingested(source, checked=checked, universe=universe)
    frames = market.frames()
    plans, refusals = {}, []
    for t in checked.kept:
        try:
            plans[t], added = _merged(ws, t, frames[t], replace)
            result.new_rows += added
        except HistoryError as exc:
            refusals.append(str(exc))
    if refusals:
        more = f"\n... and {len(refusals) - 10} more tickers" if len(refusals) > 10 else ""
        raise HistoryError(f"{source}: refused, data/ and data.dvc are unchanged; --replace takes the new history:\n"
                           + "\n".join(refusals[:10]) + more)  # fmt: skip
    validated = {}
    for ticker, (frame, update) in plans.items():  # nothing is written before every ticker's history passed
        path = ws.project_data_file(check_ticker(ticker, where=f"{source} gives the ticker"))
        text = to_csv_text(frame)
        if path.exists() and path.read_text() == text:
            result.unchanged.append(ticker)
        else:
            with atomic(path) as f:
                f.write(text)
            result.written.append(ticker)
        if update:
            result.updates.append(f"{ticker}: {update}")
        validated[path.name] = md5(path)
    if universe is not None:
        target = universe_file(ws.root, universe)
        target.parent.mkdir(parents=True, exist_ok=True)
        with atomic(target) as f:
            f.write("".join(f"{t}\n" for t in checked.kept))
        validated[target.relative_to(ws.root / "data").as_posix()] = md5(target)
    dvc_repo.record_data(ws.root, validated)
    result.seconds = time.perf_counter() - started
    return result


def _merged(ws: Workspace, ticker: str, new: pd.DataFrame, replace: bool) -> tuple[tuple[pd.DataFrame, str], int]:
    """What data/<ticker>.csv becomes with `new` and a line saying what changed in the history held ('' if none);
    and how many of its bars are newer than those held."""
    new = new[[c for c in COLUMNS if c in new.columns]]
    path = ws.project_data_file(ticker)
    if not path.is_file():
        return (new, ""), len(new)
    old = pd.read_csv(path, parse_dates=["Date"])  # a held file is canonical (to_csv_text): no guessing needed
    old = old[[c for c in COLUMNS if c in old.columns]]
    both = old[["Date", "Close"]].merge(new[["Date", "Close"]], on="Date", suffixes=("_old", "_new"))
    ratio = (both["Close_new"] / both["Close_old"]).to_numpy()
    off = ~np.isclose(ratio, 1.0, rtol=RATIO_TOLERANCE, atol=0)
    earlier = old[old["Date"] < new["Date"].min()]
    added = int((new["Date"] > old["Date"].max()).sum())
    grew = f"{added} new day(s) through {new['Date'].max().date()}" if added else ""
    if not off.any():
        return (pd.concat([earlier, new], ignore_index=True), grew), added
    last_off = int(np.flatnonzero(off)[-1])
    factor = float(np.median(ratio[: last_off + 1]))
    one_factor = off[: last_off + 1].all() and np.allclose(ratio[: last_off + 1], factor, rtol=RATIO_TOLERANCE * 4)
    since = both["Date"].iloc[last_off + 1].date() if last_off + 1 < len(both) else "the last day held"
    if one_factor:
        scaled = earlier.copy()
        for col in ("Open", "High", "Low", "Close", "Adj Close"):
            if col in scaled.columns:
                scaled[col] = scaled[col] * factor
        line = f"history re-adjusted by the provider: bars before {since} x {factor:.6g}; replaced"
        return (pd.concat([scaled, new], ignore_index=True), "; ".join(filter(None, [line, grew]))), added
    dates = both.loc[off, "Date"].dt.date.astype(str).tolist()
    if not replace:
        shown = ", ".join(dates[:5]) + (f" and {len(dates) - 5} more" if len(dates) > 5 else "")
        raise HistoryError(
            f"  {ticker}: {len(dates)} past bar(s) differ from data/{ticker}.csv, not by one factor ({shown})"
        )
    return (
        pd.concat([earlier, new], ignore_index=True),
        f"history replaced (--replace): {len(dates)} bar(s) differed",
    ), added


DOWNLOADS = {".zip": "stooq", ".tar.gz": "stooq", ".tgz": "stooq", ".csv.gz": "panel", ".parquet": "panel"}


def market_downloads(folder: Path, universe: str) -> list[tuple[Path, str]]:
    """The drop folder's downloads of a whole market for `universe`: `<universe>.zip` or `<universe>` followed by
    `-`, `_`, `.` or `@` and more, as a Stooq archive (.zip, .tar.gz) or a panel file (.csv.gz, .parquet); with
    the source each is read by."""
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        suffix = next((s for s in DOWNLOADS if path.name.endswith(s)), None)
        stem = path.name[: -len(suffix)] if suffix else ""
        if suffix and path.is_file() and (stem == universe or (stem.startswith(universe) and
                                                                stem[len(universe)] in "-_.@")):  # fmt: skip
            found.append((path, f"{DOWNLOADS[suffix]}:{path}"))
    return found


def take_market_downloads(ws: Workspace, params: Params, universe: str) -> dict:
    """Ingest the drop folder's market downloads for `universe` (oldest name first), then move each to
    <drop_folder>/taken/, or, refused, to <drop_folder>/rejected/ beside its reason (and raise it)."""
    folder = ws.root / params.data.drop_folder
    taken = {"files": [], "new_rows": 0, "lines": []}
    for path, spec in market_downloads(folder, universe):
        try:
            done = ingest_market(ws, params, spec, universe)
        except StockflowError as exc:
            (folder / "rejected").mkdir(parents=True, exist_ok=True)
            path.replace(folder / "rejected" / path.name)
            (folder / "rejected" / f"{path.name}.report.md").write_text(f"# Refused: {path.name}\n\n{exc}\n")
            exc.args = (f"{exc}\n{path.name} moved to {params.data.drop_folder}/rejected/ beside a report.",)
            raise
        (folder / "taken").mkdir(parents=True, exist_ok=True)
        path.replace(folder / "taken" / path.name)
        taken["files"].append(path.name)
        taken["new_rows"] += done.new_rows
        taken["lines"] += done.lines()
    return taken


def read_tickers(given: str | None, file: Path | None) -> set[str] | None:
    """`--tickers a,b,c` or `--tickers-file` (one per line, `#` comments), as stored names; None for all."""
    names: list[str] = []
    if given:
        names += given.split(",")
    if file is not None:
        if not file.is_file():
            raise UsageError(f"{file}: tickers file not found")
        names += [line.split("#")[0] for line in file.read_text().splitlines()]
    names = [n.strip() for n in names if n.strip()]
    if not names and (given is not None or file is not None):
        raise UsageError("--tickers / --tickers-file name no ticker")
    return {check_ticker(str(n).lower().removesuffix(".us")) for n in names} if names else None
