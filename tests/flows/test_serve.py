"""`stockflow serve`: the champion behind MLflow's scoring server answers as `stockflow predict` does."""

from __future__ import annotations

import os
import signal
import subprocess

import pandas as pd
import pytest
import requests

from tests.helpers import BIN
from tests.servers import free_port, wait_until

pytestmark = pytest.mark.slow


def test_the_served_champion_forecasts_what_predict_gives(champion, tmp_path):
    from tasks.commands.predict import next_day

    ws = champion
    expected = next_day(ws, ws.load_params(), "sp500", allow_stale=True)
    port = free_port()
    # As a person starts it: the venv's command, with the venv NOT on PATH (mlflow's server must still start).
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    env.pop("MLFLOW_TRACKING_URI", None)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(BIN / "stockflow"), "serve", "--root", str(ws.root), "--port", str(port)],
                                  stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(lambda: requests.get(f"{url}/ping", timeout=2).ok, "the scoring server", server, log)
        rows = pd.read_csv(ws.project_data_file("sp500"))  # the file as a person reads it: dates as text
        answer = requests.post(f"{url}/invocations", json={"dataframe_split": rows.to_dict(orient="split")},
                               timeout=60)  # fmt: skip
        assert answer.ok, answer.text[-2000:]
        last = answer.json()["predictions"][-1]
        assert last["forecast"] == pytest.approx(expected.forecast, rel=1e-9)
        assert last["lower"] == pytest.approx(expected.lower, rel=1e-9)
        assert last["upper"] == pytest.approx(expected.upper, rel=1e-9)
        assert "serving stockflow-sp500 v1 (champion)" in log.read_text()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
