"""Prefect flow `replay`: the retraining schedule over history, one task per as-of date (see tasks/replay.py)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from tasks.project import Project


@task(name="replay_step", cache_policy=NO_CACHE)
def replay_step(root: str, overrides: list[str], ticker: str, as_of: pd.Timestamp, until: pd.Timestamp, champion,
                parent_run_id: str):  # fmt: skip
    """Train at `as_of` on the bars up to it, apply the gate, and record the step as a child run."""
    from mlflow import MlflowClient

    from stockflow.config import flatten
    from tasks import tracking
    from tasks.prices_io import read_price_file
    from tasks.replay import Step, step

    project = Project(Path(root))
    params = project.load_params(overrides)
    forecaster, decision = step(read_price_file(project.data_file(ticker)), params, as_of, champion)
    client = MlflowClient()
    experiment_id = tracking.configure(project, params)
    run = client.create_run(
        experiment_id,
        tags={"mlflow.parentRunId": parent_run_id, "mlflow.runName": f"{ticker}@{as_of.date()}",
              "stockflow.as_of": str(as_of.date()), "stockflow.ticker": ticker,
              "stockflow.promotion": ("promoted: " if decision.promote else "rejected: ") + decision.reason},
    )  # fmt: skip
    for key, value in flatten({"gate": decision.figures()}).items():
        client.log_metric(run.info.run_id, key, float(value))
    client.set_terminated(run.info.run_id)
    return Step(as_of, until, forecaster, decision)


@flow(name="replay", log_prints=True)
def replay(ticker: str | None = None, root: str = ".", start: str = "2015-01-01", every: str = "3M",
           end: str | None = None, overrides: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """Every `every` from `start`: train on data up to then, gate, let the champion trade until the next step."""
    from mlflow import MlflowClient
    from tqdm.auto import tqdm

    from stockflow import plots
    from stockflow.config import flatten
    from tasks import tracking
    from tasks.prices_io import read_price_file
    from tasks.replay import as_of_dates, outcome

    root = str(Path(root).resolve())
    overrides = list(overrides or [])
    project = Project(Path(root))
    params = project.load_params(overrides)
    ticker = ticker or params.data.ticker
    prices = read_price_file(project.data_file(ticker))
    dates = as_of_dates(prices, start, every, end)
    bounds = [*dates[1:], pd.Timestamp(end) if end else prices["Date"].max() + pd.Timedelta(days=1)]
    parent = tracking.open_run(project, params, ticker, trigger="replay", run_name=f"replay-{ticker}")
    client = MlflowClient()
    client.set_tag(parent, "stockflow.replay", f"{len(dates)} steps every {every} from {start}")
    steps, champion = [], None
    try:
        for as_of, until in tqdm(list(zip(dates, bounds, strict=True)), desc=f"replay {ticker}", unit="step"):
            s = replay_step(root, overrides, ticker, as_of, until, champion, parent)
            champion = s.forecaster if s.decision.promote else champion
            steps.append(s)
        table, equity, metrics = outcome(prices, steps, params)
        with tracking.stage_run(project, params, parent, final=True):
            tracking.log_stage_metrics("replay", flatten(metrics))
            out = project.root / "outputs" / ticker / "replay"
            out.mkdir(parents=True, exist_ok=True)
            table.to_csv(out / "steps.csv", index=False, lineterminator="\n", float_format="%.6f")
            tracking.log_file(out / "steps.csv", "replay")
            if not equity.empty:
                equity.index.name = "date"
                equity.to_csv(out / "equity.csv", lineterminator="\n", float_format="%.6f")
                tracking.log_file(out / "equity.csv", "replay")
                title = f"{ticker}: retrain every {every} from {start}, out of sample"
                tracking.log_figure(plots.equity_curves(equity, title), "plots/replay_equity.png")
    except BaseException as exc:
        tracking.mark_failed(project, params, parent, f"{type(exc).__name__}: {exc}")
        raise
    return {"run_id": parent, "ticker": ticker, "table": table, "metrics": metrics}
