"""The watchlist flow: every ticker's retrain flow side by side on a task runner; a failure stays with its ticker.

It orders and fans out, nothing more: each ticker runs `flows/retrain.py` as a
subflow (its own flow run and MLflow run, a child of the watchlist's), the
table and the parent run are `tasks/commands/watchlist.py`'s.
"""

from __future__ import annotations

import time
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE
from prefect.futures import wait
from prefect.states import Failed

from flows.retrain import retrain
from flows.runners import prepare_worker, stop_workers
from flows.tagging import tag_this_flow_run
from stockflow.reporting import watchlist as table
from tasks.commands import watchlist as record
from tasks.services.failures import failure_reason
from tasks.services.process import stop_requested


@task(name="ticker", task_run_name="{ticker}", cache_policy=NO_CACHE)
def ticker_pipeline(ticker: str, root: str, overrides: list[str], parent_run_id: str, trigger: str) -> dict:
    """One ticker's retrain flow; its failure is a row that says why (a FAILED task run), not an exception that
    stops the rest."""
    prepare_worker()
    if stop_requested():  # this worker was stopped with its watchlist: the tickers still queued to it never start
        return _failed(table.failed_row(ticker, "not started: the watchlist was stopped", 0.0))
    started = time.perf_counter()
    try:
        results = retrain(ticker, root, overrides, None, trigger, parent_run_id=parent_run_id)  # named, tagged
    except Exception as exc:  # noqa: BLE001 - reported in the table and the parent run, with the exit code 1
        return _failed(table.failed_row(ticker, failure_reason(exc), time.perf_counter() - started))
    return table.ok_row(ticker, results, time.perf_counter() - started)


def _failed(row: dict) -> Failed:
    """FAILED in Prefect, as the ticker's MLflow run is, with its row still for the table (`result(False)`)."""
    return Failed(message=f"{row['ticker']}: {row['reason']}", data=row)


def _flow_run_name() -> str:
    from prefect import runtime

    p = runtime.flow_run.parameters
    return p.get("name") or f"watchlist of {len(p.get('tickers') or [])}"


@flow(name="watchlist", flow_run_name=_flow_run_name, log_prints=True)
def watchlist(tickers: list[str], root: str, overrides: list[str] | None = None, name: str | None = None,
              trigger: str = "prefect") -> dict[str, Any]:  # fmt: skip
    """Retrain, evaluate, backtest and gate every ticker; the cross-ticker table and the tickers that failed."""
    from prefect import runtime

    from tasks.services import tracking

    overrides = list(overrides or [])
    w = record.begin(root, tickers, overrides, name, trigger, links={tracking.PREFECT_RUN: str(runtime.flow_run.id)})
    tag_this_flow_run("kind:watchlist", f"preset:{w.params.preset}", f"trigger:{trigger}")
    try:
        futures = [ticker_pipeline.submit(t, str(w.root), overrides, w.run_id, trigger) for t in w.tickers]
        wait(futures)
        rows = []
        for ticker, future in zip(w.tickers, futures, strict=True):
            try:
                row = future.result(raise_on_failure=False)  # a FAILED ticker still gives its row
            except Exception as exc:  # noqa: BLE001
                row = exc
            if isinstance(row, BaseException):  # the worker itself died (killed, out of memory)
                row = table.failed_row(ticker, f"its worker failed: {failure_reason(row)}", 0.0)
            rows.append(row)
        result = record.conclude(w, rows)
    except BaseException as exc:
        stop_workers()  # else the pool's shutdown waits for tickers that would still register their models
        record.abort(w, exc)
        raise
    get_run_logger().info("watchlist:\n%s", result["text"])
    if result["failed"]:  # one state in every tool: FAILED here too, as the parent MLflow run and the exit code are
        return Failed(message=f"{len(result['failed'])} of {len(w.tickers)} tickers failed: "
                      + ", ".join(result["failed"]), data=result)  # fmt: skip
    return result
