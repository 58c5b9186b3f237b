"""A watchlist: several tickers in one run on Dask, tracked on MLflow over PostgreSQL; failures stay local."""

from __future__ import annotations

import contextlib
import os
import threading
import time

import pandas as pd
import pytest
import requests
from typer.testing import CliRunner

from flows.cli import app
from stockflow.data.prices import to_csv_text
from tasks.commands.ingest import ingest
from tasks.services.workspace import Workspace
from tests import servers
from tests.helpers import all_runs, every_run, prefect_runs

pytestmark = pytest.mark.slow


@pytest.fixture()
def three_tickers(project_dir, sp500):
    """acme and beta: real data slices, ingested; broken: a file dropped into data/ by hand, with a bad close."""
    ws = Workspace.project(project_dir)
    for name, start in (("acme", "2013-01-01"), ("beta", "2010-01-01")):
        path = project_dir.parent / f"{name}.csv"
        path.write_text(to_csv_text(sp500[(sp500["Date"] >= start)].iloc[:750]))
        ingest(ws, ws.load_params(), f"csv:{path}", name)
    broken = sp500[sp500["Date"] >= "2015-01-01"].iloc[:750].copy()
    broken.loc[broken.index[100], "Close"] *= 100
    (project_dir / "data" / "broken.csv").write_text(to_csv_text(broken))
    return project_dir


def api_env(monkeypatch) -> dict[str, str]:
    """Worker processes report to the test's Prefect server, as a deployment's would to the team's."""
    from prefect.settings import PREFECT_API_URL

    monkeypatch.setenv("PREFECT_API_URL", PREFECT_API_URL.value())
    return {**os.environ}


def test_watchlist_on_a_local_cluster_tracked_on_postgresql(three_tickers, tmp_path, prefect_harness, monkeypatch):
    api_env(monkeypatch)
    with servers.postgresql() as backend, servers.mlflow_server(tmp_path, backend) as url:
        monkeypatch.setenv("MLFLOW_TRACKING_URI", url)
        api = f"{url}/api/2.0/mlflow"
        # PostgreSQL restarted between tickers: once the first ticker's run has ended (two at a time: the third
        # has not started). The remaining tickers still finish and record through the same server.
        restarted, ended_before = [], set()

        def restart_after_the_first_ticker():
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and not restarted:
                with contextlib.suppress(requests.RequestException, KeyError, ValueError):
                    found = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": "stockflow"},
                                         timeout=5).json()  # fmt: skip
                    query = {"experiment_ids": [found["experiment"]["experiment_id"]],
                             "filter": "attributes.status != 'RUNNING'"}  # fmt: skip
                    runs = requests.post(f"{api}/runs/search", json=query, timeout=5).json().get("runs", [])
                    ended = {t["value"] for r in runs for t in r["data"]["tags"] if t["key"] == "stockflow.ticker"}
                    if ended:
                        restarted.append(time.time() * 1000)  # a ticker ending from now on ends across the restart
                        backend.restart()
                        ended_before.update(ended)
                time.sleep(0.5)

        restarter = threading.Thread(target=restart_after_the_first_ticker, daemon=True)
        restarter.start()
        out = CliRunner().invoke(app, ["run", "--root", str(three_tickers), "--tickers", "acme,beta,broken",
                                       "--runner", "dask", "--workers", "2"])  # fmt: skip
        restarter.join(timeout=5)
        assert out.exit_code == 1, out.output  # something failed, not everything
        assert "broken      FAILED: data validation failed" in out.output and "2 of 3 tickers finished" in out.output
        prefect_agrees_with_mlflow()

        exp = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": "stockflow"}, timeout=10)
        query = {"experiment_ids": [exp.json()["experiment"]["experiment_id"]], "max_results": 50}
        runs = requests.post(f"{api}/runs/search", timeout=10, json=query).json()["runs"]
        tags = [{t["key"]: t["value"] for t in r["data"]["tags"]} for r in runs]
        (parent,) = [(r, t) for r, t in zip(runs, tags, strict=True) if "stockflow.reporting.watchlist" in t]
        children = {t["stockflow.ticker"]: r for r, t in zip(runs, tags, strict=True)
                    if t.get("mlflow.parentRunId") == parent[0]["info"]["run_id"]}  # fmt: skip
        assert parent[0]["info"]["status"] == "FAILED" and "broken" in parent[1]["stockflow.failure"]
        assert {k: v["info"]["status"] for k, v in children.items()} == {
            "acme": "FINISHED", "beta": "FINISHED", "broken": "FAILED"}  # fmt: skip
        # The tickers still running when PostgreSQL went down ended after it came back, recorded in full.
        remaining = {t for t, r in children.items() if int(r["info"]["end_time"]) > restarted[0]}
        assert restarted and remaining and not remaining & ended_before, ended_before
        for ticker in ("acme", "beta"):
            versions = requests.get(f"{api}/registered-models/get", params={"name": f"stockflow-{ticker}"},
                                    timeout=10).json()["registered_model"]  # fmt: skip
            assert "challenger" in {a["alias"] for a in versions["aliases"]}
        artifacts = requests.get(f"{api}/artifacts/list", params={"run_id": parent[0]["info"]["run_id"]}, timeout=10)
        assert {"watchlist.csv", "watchlist.png"} <= {f["path"] for f in artifacts.json()["files"]}

        # A child run through the REST API: its curves, its figures through the server's artifact proxy.
        acme = children["acme"]["info"]["run_id"]
        for key in ("Loss/training", "Loss/validation", "train/mae_scaled", "train/val_mae_scaled"):
            history = requests.get(f"{api}/metrics/get-history", params={"run_id": acme, "metric_key": key},
                                   timeout=10).json()["metrics"]  # fmt: skip
            assert [m["step"] for m in history] == [1]  # one epoch, one point per curve
        png = requests.get(f"{url}/get-artifact", params={"path": "equity.png", "run_uuid": acme}, timeout=10)
        assert png.content[:4] == b"\x89PNG"

        # A registered model loads from the server and forecasts from raw rows, as read from a CSV.
        import mlflow

        mlflow.set_tracking_uri(url)
        version = requests.get(f"{api}/registered-models/alias", params={"name": "stockflow-acme",
                               "alias": "challenger"}, timeout=10).json()["model_version"]  # fmt: skip
        model = mlflow.pyfunc.load_model(f"models:/stockflow-acme/{version['version']}")
        raw = pd.read_csv(three_tickers / "data" / "acme.csv").tail(60)
        out = model.predict(raw)
        assert str(out["date"].iloc[-1].date()) == raw["Date"].iloc[-1] and out["forecast"].notna().all()


def prefect_agrees_with_mlflow() -> None:
    """One state in every tool: the watchlist run and the broken ticker's runs are FAILED in Prefect too; every run
    (the parent, each ticker's flow run on its Dask worker) is named and tagged."""
    import asyncio

    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import FlowRunFilter

    (parent,) = prefect_runs("watchlist")[:1]
    assert (parent.name, parent.state_name) == ("watchlist of 3", "Failed")
    assert "1 of 3 tickers failed: broken" in parent.state.message
    assert {"kind:watchlist", "preset:default", "trigger:cli"} <= set(parent.tags)
    children = {r.name.split()[0]: r for r in prefect_runs("retrain") if r.parent_task_run_id}
    for ticker in ("acme", "beta", "broken"):
        assert {ticker, "kind:retrain", "preset:default", "trigger:cli"} <= set(children[ticker].tags), ticker
    assert {t: children[t].state_name for t in ("acme", "beta", "broken")} == {
        "acme": "Completed", "beta": "Completed", "broken": "Failed"}  # fmt: skip

    async def ticker_tasks():
        async with get_client() as c:
            return await c.read_task_runs(flow_run_filter=FlowRunFilter(id={"any_": [parent.id]}))

    states = {r.name: r.state_name for r in asyncio.run(ticker_tasks()) if r.name in ("acme", "beta", "broken")}
    assert states == {"acme": "Completed", "beta": "Completed", "broken": "Failed"}


def test_watchlist_on_a_running_dask_scheduler(three_tickers, tmp_path, prefect_harness, monkeypatch):
    env = api_env(monkeypatch)
    with servers.dask_cluster(tmp_path, workers=2, env=env) as address:
        out = CliRunner().invoke(app, ["run", "--root", str(three_tickers), "--tickers", "acme,beta",
                                       "--dask-address", address])  # fmt: skip
    assert out.exit_code == 0, out.output
    runs = all_runs(three_tickers)
    finished = {r.data.tags.get("stockflow.ticker") for r in runs if r.info.status == "FINISHED"}
    assert {"acme", "beta"} <= finished
    (parent,) = [r for r in runs if "stockflow.reporting.watchlist" in r.data.tags]
    assert parent.info.status == "FINISHED" and parent.data.metrics["Headline/tickers_ok"] == 2
    # The workers' processes left nothing else in any experiment (Default included), and nothing RUNNING.
    everything = every_run(three_tickers)
    assert sorted(r.info.run_id for r in everything) == sorted(r.info.run_id for r in runs)
    assert {r.info.status for r in everything} == {"FINISHED"}
