"""End to end against a real `mlflow server` on 127.0.0.1: the flow logs to it, the REST API shows it all."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

pytestmark = pytest.mark.slow


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def mlflow_server(tmp_path):
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    cmd = [
        str(Path(sys.executable).parent / "mlflow"), "server",
        "--backend-store-uri", f"sqlite:///{tmp_path / 'server.db'}",
        "--artifacts-destination", str(tmp_path / "server-artifacts"),
        "--host", "127.0.0.1", "--port", str(port), "--workers", "1",
    ]  # fmt: skip
    log = (tmp_path / "server.log").open("w")
    server = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if requests.get(f"{url}/health", timeout=2).ok:
                    break
            except requests.ConnectionError:
                pass
            assert server.poll() is None, (tmp_path / "server.log").read_text()
            time.sleep(0.5)
        else:
            pytest.fail("mlflow server did not answer /health within 120 s")
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)
        log.close()


def test_flow_against_a_tracking_server_seen_through_the_rest_api(
    project_dir, mlflow_server, prefect_harness, monkeypatch
):
    import mlflow

    from flows.retrain import run_retrain
    from stockflow.prices import REQUIRED
    from tasks.files import read_price_file

    monkeypatch.setenv("MLFLOW_TRACKING_URI", mlflow_server)
    results = run_retrain("sp500", str(project_dir), ["promote.max_mae_ratio=100"], None, trigger="test")
    run_id = results["run_id"]
    api = f"{mlflow_server}/api/2.0/mlflow"

    run = requests.get(f"{api}/runs/get", params={"run_id": run_id}, timeout=10).json()["run"]
    assert run["info"]["status"] == "FINISHED"
    tags = {t["key"]: t["value"] for t in run["data"]["tags"]}
    assert tags["stockflow.ticker"] == "sp500" and len(tags["mlflow.source.git.commit"]) == 40

    for key in ("Loss/training", "Loss/validation", "train/mae_scaled", "train/val_mae_scaled"):
        history = requests.get(
            f"{api}/metrics/get-history", params={"run_id": run_id, "metric_key": key}, timeout=10
        ).json()["metrics"]
        assert [m["step"] for m in history] == [1]  # one epoch, one point per curve

    listed = requests.get(f"{api}/artifacts/list", params={"run_id": run_id}, timeout=10).json()
    assert {"loss_curves.png", "equity.png", "search_heatmap.png"} <= {f["path"] for f in listed["files"]}
    png = requests.get(f"{mlflow_server}/get-artifact", params={"path": "equity.png", "run_uuid": run_id}, timeout=10)
    assert png.content[:4] == b"\x89PNG"

    alias = requests.get(
        f"{api}/registered-models/alias", params={"name": "stockflow-sp500", "alias": "champion"}, timeout=10
    ).json()["model_version"]
    assert alias["run_id"] == run_id and alias["version"] == "1"

    # The champion served from the tracking server forecasts from raw prices.
    mlflow.set_tracking_uri(mlflow_server)
    champion = mlflow.pyfunc.load_model("models:/stockflow-sp500@champion")
    prices = read_price_file(project_dir / "data" / "sp500.csv")
    out = champion.predict(prices[REQUIRED].iloc[-60:])
    assert out["date"].iloc[-1] == prices["Date"].iloc[-1] and out["forecast"].notna().all()
