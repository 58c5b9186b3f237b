"""`stockflow replay` on file and in MLflow: one parent run, one child run per as-of date.

The simulation itself is `stockflow/champion/replay.py`; `flows/replay.py` orders the steps.
The registry is never touched: a replay asks "would retraining have paid?", it
does not change what is deployed.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from stockflow.champion import replay
from stockflow.config import Params, flatten
from stockflow.errors import check_ticker
from tasks.kinds import TICKER
from tasks.services import provenance, tracking
from tasks.services.failures import failure_reason
from tasks.services.files import read_price_file, save_figure, write_csv
from tasks.services.tracking import tracker_for
from tasks.services.workspace import Workspace


@dataclass(frozen=True)
class Replay:
    """A replay in flight: its workspace, settings, parent run and as-of dates."""

    ws: Workspace
    ticker: str
    params: Params
    run_id: str
    dates: list[pd.Timestamp]
    bounds: list[pd.Timestamp]


def begin(root: Path | str, ticker: str, start: str, every: str, end: str | None, overrides: list[str]) -> Replay:
    """Check the dates against the data, snapshot the data, open the parent run."""

    def span(prices: pd.DataFrame) -> tuple[list, list]:
        dates = replay.as_of_dates(prices, start, every, end)
        return dates, [*dates[1:], pd.Timestamp(end) if end else prices["Date"].max() + pd.Timedelta(days=1)]

    return _open(root, ticker, overrides, span, f"every {every} from {start}", lambda n: f"{n} steps every {every} "
                 f"from {start}")  # fmt: skip


def _open(root: Path | str, ticker: str, overrides: list[str], span: Any, label: str, what: Any) -> Replay:
    """A replay's workspace (a snapshot of the data), its dates from `span(prices)`, and its parent run."""
    root = Path(root).resolve()
    check_ticker(ticker)
    params = Workspace.project(root).load_params(overrides)
    ws = Workspace.private(root, ticker)
    try:
        data_md5 = ws.snapshot_data(ticker)
        dates, bounds = span(read_price_file(ws.data_file(ticker)))
        code_tags, _ = provenance.code_version(root)
        tags = {**code_tags, tracking.TICKER: ticker, tracking.TRIGGER: "replay", tracking.DATA_FILE_MD5: data_md5,
                "stockflow.champion.replay": what(len(dates))}  # fmt: skip
        name = f"replay {provenance.describe(ticker, params, root, TICKER)} {label}"
        run_id = tracker_for(root, params).open_run(name, provenance.recorded_params(params, TICKER), tags)
    except BaseException:
        ws.remove()
        raise
    return Replay(ws, ticker, params, run_id, dates, bounds)


def step(r: Replay, k: int, champion: Any) -> replay.Step:
    """Train at the k-th as-of date on the bars up to it, apply the gate, record it as a child run."""
    as_of, until = r.dates[k], r.bounds[k]
    forecaster, decision = replay.step(read_price_file(r.ws.data_file(r.ticker)), r.params, as_of, champion)
    tracker = tracker_for(r.ws.root, r.params)
    verdict = ("promoted: " if decision.promote else "rejected: ") + decision.reason
    child = tracker.open_run(
        f"{r.ticker}@{as_of.date()}", {}, {tracking.AS_OF: str(as_of.date()), tracking.TICKER: r.ticker,
                                          tracking.PROMOTION: verdict}, parent=r.run_id,
    )  # fmt: skip
    tracker.log_metrics(child, flatten({"gate": decision.figures()}))
    tracker.finish(child)
    return replay.Step(as_of, until, forecaster, decision)


def conclude(r: Replay, steps: list[replay.Step], every: str, start: str) -> dict[str, Any]:
    """The stitched out-of-sample outcome, logged on the parent run with its table and plot."""
    from stockflow.reporting import plots

    tracker = tracker_for(r.ws.root, r.params)
    prices = read_price_file(r.ws.data_file(r.ticker))
    table, equity, metrics = replay.outcome(prices, steps, r.params)
    out = r.ws.work / "outputs" / r.ticker / "replay"
    out.mkdir(parents=True, exist_ok=True)
    write_csv(table, out / "steps.csv")
    tracker.log_file(r.run_id, out / "steps.csv", "replay")
    tracker.log_metrics(r.run_id, {f"replay/{k}": v for k, v in flatten(metrics).items()})
    if not equity.empty:
        write_csv(equity, out / "equity.csv", index=True, index_label="date")
        tracker.log_file(r.run_id, out / "equity.csv", "replay")
        title = f"{r.ticker}: retrain every {every} from {start}, out of sample"
        save_figure(plots.equity_curves(equity, title), out / "replay_equity.png")
        tracker.log_file(r.run_id, out / "replay_equity.png")
    tracker.finish(r.run_id)
    r.ws.remove()
    return {"run_id": r.run_id, "ticker": r.ticker, "table": table, "metrics": metrics}


def abort(r: Replay, exc: BaseException) -> None:
    """End the parent run FAILED with the reason; remove the workspace."""
    try:
        tracker_for(r.ws.root, r.params).finish(r.run_id, failure=failure_reason(exc))
    finally:
        r.ws.remove()


# --- retraining policies side by side (`stockflow replay --policy ...`) ---------------------------------------


def begin_policies(root: Path | str, ticker: str, policies: list[str], start: str, end: str | None,
                   overrides: list[str]) -> Replay:  # fmt: skip
    """Check the policies and dates, snapshot the data, open the parent run of a policy replay."""
    from stockflow.champion.policies import parse_policy

    for text in policies:
        parse_policy(text)

    def span(prices: pd.DataFrame) -> tuple[list, list]:
        first, last = pd.Timestamp(start), pd.Timestamp(end) if end else prices["Date"].max()
        if not prices["Date"].min() < first < last:
            raise ValueError(f"--start {start} must lie inside the data ({prices['Date'].min().date()} .. "
                             f"{prices['Date'].max().date()}) and before --end")  # fmt: skip
        return [first], [last]

    label = f"{' vs '.join(policies)} from {start}"
    return _open(root, ticker, overrides, span, label, lambda _: f"policies {', '.join(policies)} from {start}")


def run_policy(r: Replay, policy: str, fits: dict, progress: bool = False) -> dict[str, Any]:
    """Replay one policy over the span; its figures, equity and retrain days, recorded as a child run."""
    from tqdm.auto import tqdm

    from stockflow.champion import policies

    prices = read_price_file(r.ws.data_file(r.ticker))
    start, end = r.dates[0], r.bounds[0]
    days = int(((prices["Date"] >= start) & (prices["Date"] < end)).sum())
    with tqdm(total=days, desc=f"{r.ticker} {policy}", unit="day", disable=not progress, leave=False) as bar:
        outcome = policies.simulate(prices, r.params, policies.parse_policy(policy), start, end, fits, bar.update)
    figures, equity = policies.scores(prices, outcome, r.params)
    tracker = tracker_for(r.ws.root, r.params)
    child = tracker.open_run(f"{r.ticker} {policy}", {"policy": policy},
                             {tracking.TICKER: r.ticker, "stockflow.policy": policy,
                              "stockflow.retrained_on": ", ".join(str(d.date()) for d in outcome.retrains)[:4000],
                              "stockflow.alarms": "; ".join(f"{d.date()} {v}" for d, v in outcome.alarms)[:4000]},
                             parent=r.run_id)  # fmt: skip
    tracker.log_metrics(child, {f"policy/{k}": v for k, v in figures.items()})
    tracker.finish(child)
    return {"policy": policy, **figures, "equity": equity, "retrained_on": outcome.retrains,
            "alarms_on": outcome.alarms, "forecasts": outcome.forecasts}  # fmt: skip


KEPT_APART = ("equity", "retrained_on", "alarms_on", "forecasts")  # a policy's series: files and plots, not the table


def conclude_policies(r: Replay, results: list[dict[str, Any]]) -> dict[str, Any]:
    """The policies' table, equity curves and plot on the parent run."""
    from stockflow.champion.policies import hold_equity
    from stockflow.reporting import plots

    tracker = tracker_for(r.ws.root, r.params)
    prices = read_price_file(r.ws.data_file(r.ticker))
    out = r.ws.work / "outputs" / r.ticker / "replay"
    out.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame([{k: v for k, v in res.items() if k not in KEPT_APART} for res in results])
    write_csv(table, out / "policies.csv")
    equity = pd.DataFrame({res["policy"]: res["equity"] for res in results})
    equity["buy_and_hold"] = hold_equity(prices, results[0]["forecasts"], r.params).to_numpy()
    write_csv(equity, out / "policies_equity.csv", index=True, index_label="date")
    title = f"{r.ticker}: retraining policies, out of sample from {r.dates[0].date()}"
    marks = {res["policy"]: res["retrained_on"] for res in results}
    save_figure(plots.policy_chart(equity, marks, table, title), out / "policies.png")
    for name in ("policies.csv", "policies_equity.csv"):
        tracker.log_file(r.run_id, out / name, "replay")
    tracker.log_file(r.run_id, out / "policies.png")
    tracker.log_metrics(r.run_id, {f"policy/{row['policy']}.{k}": v for row in table.to_dict("records")
                                   for k, v in row.items() if k != "policy"})  # fmt: skip
    tracker.finish(r.run_id)
    r.ws.remove()
    return {"run_id": r.run_id, "ticker": r.ticker, "table": table, "start": str(r.dates[0].date())}
