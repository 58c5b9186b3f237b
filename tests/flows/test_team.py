"""A team's set-up on 127.0.0.1, used as two people use it.

One git origin, a DVC remote in a shared folder (the same commands as for a bucket), an
`mlflow server` that keeps the artifacts itself (`--artifacts-destination`: clients need
only its URL), and two clones in two folders: Alice's and Bob's. Alice runs a ticker of
her own; Bob, with nothing but her MLflow run id, makes the run again and forecasts with
her champion through the server.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
from mlflow import MlflowClient

from stockflow.data.prices import to_csv_text
from tests.conftest import REPO
from tests.helpers import BIN, dvc, env_with_venv
from tests.servers import mlflow_server

pytestmark = pytest.mark.slow


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def stockflow(clone: Path, url: str, *args: str) -> subprocess.CompletedProcess:
    from prefect.settings import PREFECT_API_URL

    # The team's servers, as each person's shell sets them: MLflow's, and a Prefect API (the test's), so no run
    # boots a private one (`stockflow run` alone does that; tests/flows/test_signals.py holds it to its promises).
    env = env_with_venv(MLFLOW_TRACKING_URI=url, PREFECT_API_URL=PREFECT_API_URL.value())
    return subprocess.run([str(BIN / "stockflow"), *args], cwd=clone, capture_output=True, text=True, timeout=600,
                          env=env)  # fmt: skip


def clone(origin: Path, folder: Path, who: str) -> Path:
    git(origin.parent, "clone", "-q", str(origin), str(folder))
    git(folder, "config", "user.email", f"{who}@example.invalid")
    git(folder, "config", "user.name", who)
    pulled = dvc(folder, "pull", "data.dvc")  # the committed data, from the team's remote
    assert pulled.returncode == 0, pulled.stderr
    return folder


@pytest.fixture()
def team(tmp_path: Path, project_template: Path):
    """The origin and the remote a founder set up (code, tiny params, sp500 pushed), the server, two clones."""
    founder = tmp_path / "founder"
    shutil.copytree(project_template, founder, symlinks=True)
    shutil.copytree(REPO / "flows", founder / "flows", ignore=shutil.ignore_patterns("__pycache__"))
    assert dvc(founder, "remote", "add", "-d", "team", str(tmp_path / "team-dvc-remote")).returncode == 0
    assert dvc(founder, "push", "-q").returncode == 0
    git(founder, "add", "-A")
    git(founder, "commit", "-qm", "the team's remote, and the flows")
    origin = tmp_path / "origin.git"
    git(tmp_path, "clone", "-q", "--bare", str(founder), str(origin))
    with mlflow_server(tmp_path, f"sqlite:///{tmp_path / 'server.db'}") as url:
        yield url, clone(origin, tmp_path / "alice", "alice"), clone(origin, tmp_path / "bob", "bob")


def run_id_of(out: subprocess.CompletedProcess) -> str:
    assert out.returncode == 0, out.stderr[-3000:]
    (line,) = [line for line in out.stdout.splitlines() if "MLflow run:" in line]
    return line.split()[-1]


def test_bob_reproduces_alices_run_from_its_id_and_forecasts_with_her_champion(team, tmp_path, sp500, prefect_harness):
    url, alice, bob = team
    # Alice: a ticker of her own (an earlier stretch of the index, as a file she downloaded), one run.
    own = tmp_path / "acme.csv"
    own.write_text(to_csv_text(sp500[(sp500["Date"] >= "2012-01-01") & (sp500["Date"] < "2015-01-01")]))
    assert stockflow(alice, url, "ingest", "--ticker", "acme", "--source", f"csv:{own}").returncode == 0
    run_id = run_id_of(stockflow(alice, url, "run", "--ticker", "acme", "--set", "train.epochs=2",
                                     "--set", "promote.max_mae_ratio=100"))  # fmt: skip

    # She forgot `dvc push`: Bob is told what is missing and by whom it can be fixed; nothing ran.
    server = MlflowClient(url)
    before = {r.info.run_id for r in server.search_runs(_experiments(server))}
    refused = stockflow(bob, url, "reproduce", run_id)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert "on this clone's DVC remote team" in refused.stderr and "`dvc push`" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert {r.info.run_id for r in server.search_runs(_experiments(server))} == before
    assert not any((bob / ".stockflow" / "reproduce").glob("*"))

    # Pushed: Bob makes the run again, from his clone, with the run id alone.
    assert dvc(alice, "push", "-q").returncode == 0
    done = stockflow(bob, url, "reproduce", run_id)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "Reproduced: every headline figure is equal." in done.stdout
    assert "settings  " in done.stdout and "all equal" in done.stdout
    assert f"commit {git(alice, 'rev-parse', 'HEAD')[:12]}\n" in done.stdout  # her ingest is data, not code
    (again,) = server.search_runs(_experiments(server), filter_string=f"tags.`stockflow.reproduces` = '{run_id}'")
    original = server.get_run(run_id)
    assert again.info.status == "FINISHED" and again.data.params == original.data.params
    assert again.data.tags["stockflow.data_file_md5"] == original.data.tags["stockflow.data_file_md5"]
    headline = {k: v for k, v in original.data.metrics.items() if k.startswith("Headline/")}
    assert headline and {k: again.data.metrics[k] for k in headline} == headline
    assert [v.version for v in server.search_model_versions("name = 'stockflow-acme'")] == ["1"]  # identical
    assert not any((bob / ".stockflow" / "reproduce").glob("*"))  # an equal reproduction leaves no worktree
    assert len(git(bob, "worktree", "list").splitlines()) == 1
    # Nothing left open anywhere on the server, in any experiment.
    assert [r.info.status for r in server.search_runs(_experiments(server)) if r.info.status != "FINISHED"] == []

    # Alice shares the data version the usual way; Bob forecasts with her champion, loaded through the server.
    git(alice, "add", "data.dvc")
    git(alice, "commit", "-qm", "acme")
    git(alice, "push", "-q", "origin", "HEAD")
    git(bob, "pull", "-q")
    assert dvc(bob, "pull", "data.dvc").returncode == 0
    forecast = stockflow(bob, url, "predict", "--ticker", "acme", "--json", "--allow-stale")
    assert forecast.returncode == 0, forecast.stderr[-2000:]
    told = json.loads(forecast.stdout)
    assert (told["model"], told["version"], told["last_date"]) == ("stockflow-acme", 1, "2014-12-31")
    assert told["data_version"] == original.data.tags["stockflow.data_version"]
    assert told["lower"] < told["forecast"] < told["upper"]
    assert not any((person / "mlruns" / "mlflow.db").exists() for person in (alice, bob))  # only the server's


def _experiments(client: MlflowClient) -> list[str]:
    return [e.experiment_id for e in client.search_experiments()]
