"""A watchlist: several tickers in one run on Dask, tracked on MLflow over PostgreSQL; failures stay local."""

from __future__ import annotations

import os

import pytest
import requests
from typer.testing import CliRunner

from flows.cli import app
from stockflow.prices import to_csv_text
from tasks.ingest import ingest
from tasks.workspace import Workspace
from tests import servers
from tests.helpers import all_runs

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
        out = CliRunner().invoke(app, ["run", "--root", str(three_tickers), "--tickers", "acme,beta,broken",
                                       "--runner", "dask", "--workers", "2"])  # fmt: skip
        assert out.exit_code == 1, out.output  # something failed, not everything
        assert "broken      FAILED: data validation failed" in out.output and "2 of 3 tickers finished" in out.output

        api = f"{url}/api/2.0/mlflow"
        exp = requests.get(f"{api}/experiments/get-by-name", params={"experiment_name": "stockflow"}, timeout=10)
        query = {"experiment_ids": [exp.json()["experiment"]["experiment_id"]], "max_results": 50}
        runs = requests.post(f"{api}/runs/search", timeout=10, json=query).json()["runs"]
        tags = [{t["key"]: t["value"] for t in r["data"]["tags"]} for r in runs]
        (parent,) = [(r, t) for r, t in zip(runs, tags, strict=True) if "stockflow.watchlist" in t]
        children = {t["stockflow.ticker"]: r for r, t in zip(runs, tags, strict=True)
                    if t.get("mlflow.parentRunId") == parent[0]["info"]["run_id"]}  # fmt: skip
        assert parent[0]["info"]["status"] == "FAILED" and "broken" in parent[1]["stockflow.failure"]
        assert {k: v["info"]["status"] for k, v in children.items()} == {
            "acme": "FINISHED", "beta": "FINISHED", "broken": "FAILED"}  # fmt: skip
        for ticker in ("acme", "beta"):
            versions = requests.get(f"{api}/registered-models/get", params={"name": f"stockflow-{ticker}"},
                                    timeout=10).json()["registered_model"]  # fmt: skip
            assert "challenger" in {a["alias"] for a in versions["aliases"]}
        artifacts = requests.get(f"{api}/artifacts/list", params={"run_id": parent[0]["info"]["run_id"]}, timeout=10)
        assert {"watchlist.csv", "watchlist.png"} <= {f["path"] for f in artifacts.json()["files"]}


def test_watchlist_on_a_running_dask_scheduler(three_tickers, tmp_path, prefect_harness, monkeypatch):
    env = api_env(monkeypatch)
    with servers.dask_cluster(tmp_path, workers=2, env=env) as address:
        out = CliRunner().invoke(app, ["run", "--root", str(three_tickers), "--tickers", "acme,beta",
                                       "--dask-address", address])  # fmt: skip
    assert out.exit_code == 0, out.output
    runs = all_runs(three_tickers)
    finished = {r.data.tags.get("stockflow.ticker") for r in runs if r.info.status == "FINISHED"}
    assert {"acme", "beta"} <= finished
    (parent,) = [r for r in runs if "stockflow.watchlist" in r.data.tags]
    assert parent.info.status == "FINISHED" and parent.data.metrics["Headline/tickers_ok"] == 2
