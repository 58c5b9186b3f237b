"""Shared fixtures: real data slices, and throwaway projects that are real git + DVC repos."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

# Every tool's state in a folder of this test process, never in the home of whoever runs the tests: set before
# any of them is imported, and inherited by every process a test starts (`tests/tasks/test_isolation.py` checks).
REAL_HOME = Path.home()
TOOL_HOMES = Path(tempfile.mkdtemp(prefix="stockflow-tests-"))
HOMES = {
    "PREFECT_HOME": "prefect",  # Prefect's profiles and the database of every private server
    "DVC_SITE_CACHE_DIR": "dvc-site",  # else /var/tmp/dvc: one entry per repository ever opened
    "DVC_GLOBAL_CONFIG_DIR": "dvc-global",
    "KERAS_HOME": "keras",
    "MPLCONFIGDIR": "matplotlib",
}
for _variable, _folder in HOMES.items():
    os.environ[_variable] = str(TOOL_HOMES / _folder)
os.environ["DVC_NO_ANALYTICS"] = "1"
atexit.register(shutil.rmtree, TOOL_HOMES, ignore_errors=True)

import pandas as pd  # noqa: E402
import pytest  # noqa: E402

from tasks.services.process import importing, quiet  # noqa: E402

quiet()
if os.environ.get("PYTEST_XDIST_WORKER"):  # a `make test` worker: it will need them all, and collect often
    with importing():
        import keras  # noqa: F401
        import mlflow  # noqa: F401

        # prefect.main, not only prefect: Prefect sets up its logging there, and that closes the handlers already
        # there. absl's (TensorFlow's) then closes its stream unless it is the sys.stderr of the moment; under a
        # CliRunner it is not, and that stream is pytest's capture file, so the worker's first test to import
        # prefect.main under a CliRunner would fail. Here sys.stderr is still absl's own stream.
        import prefect.main  # noqa: F401
REPO = Path(__file__).resolve().parents[1]

TINY = [
    "train.epochs=1",
    "train.units=8",
    "preprocess.lookback=10",
    "validate.min_rows=100",
]


@pytest.fixture(autouse=True)
def _tracking_uri_as_it_was():
    """`mlflow.set_tracking_uri` (the tests' helpers call it) writes MLFLOW_TRACKING_URI into os.environ: one test's
    store must not become the next one's, nor its subprocesses'."""
    before = os.environ.get("MLFLOW_TRACKING_URI")
    yield
    if before is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = before


@pytest.fixture(scope="session")
def sp500() -> pd.DataFrame:
    """The real embedded S&P 500 data, canonical columns."""
    from arch.data import sp500 as sample

    from stockflow.data.prices import normalise

    return normalise(sample.load())


@pytest.fixture()
def small_prices(sp500: pd.DataFrame) -> pd.DataFrame:
    """A recent slice of real data: 2016-2018, about 750 rows."""
    return recent(sp500)


def recent(prices: pd.DataFrame) -> pd.DataFrame:
    """The 2016-2018 rows: the slice every test project holds."""
    return prices[prices["Date"] >= "2016-01-01"].reset_index(drop=True)


def _run(cmd: list[str], cwd: Path) -> None:
    subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True)


def tiny_params_yaml(root: Path) -> None:
    """Rewrite the project's params.yaml with tiny settings, as a user would edit it."""
    import yaml

    from stockflow.config import apply_overrides

    raw = yaml.safe_load((REPO / "params.yaml").read_text())
    (root / "params.yaml").write_text(yaml.safe_dump(apply_overrides(raw, TINY), sort_keys=False))


@pytest.fixture(scope="session")
def project_template(tmp_path_factory: pytest.TempPathFactory, sp500: pd.DataFrame) -> Path:
    """The project each test starts from, made once per test process (a git and DVC repo take seconds to set
    up): git repo + DVC repo, tiny params, 2016-2018 S&P 500 ingested as `sp500`. Tests get a copy of it."""
    from stockflow.data.prices import to_csv_text
    from tasks.commands.ingest import ingest
    from tasks.services.workspace import Workspace

    base = tmp_path_factory.mktemp("template")
    root = base / "proj"
    root.mkdir()
    for name in ("dvc.yaml", ".gitignore"):
        shutil.copy(REPO / name, root / name)
    # The code too: dvc.yaml lists it as stage dependencies, as in a clone.
    for folder in ("expectations", "stockflow", "tasks"):
        shutil.copytree(REPO / folder, root / folder, ignore=shutil.ignore_patterns("__pycache__"))
    tiny_params_yaml(root)
    with pytest.MonkeyPatch.context() as env:
        env.delenv("MLFLOW_TRACKING_URI", raising=False)
        env.delenv("STOCKFLOW_ROOT", raising=False)
        _run(["git", "init", "-q"], root)
        _run(["git", "config", "user.email", "t@example.invalid"], root)
        _run(["git", "config", "user.name", "test"], root)
        _run([sys.executable, "-m", "dvc", "init", "-q"], root)
        _run([sys.executable, "-m", "dvc", "config", "core.analytics", "false"], root)
        csv = base / "sp500_slice.csv"
        csv.write_text(to_csv_text(recent(sp500)))
        ws = Workspace.project(root)
        ingest(ws, ws.load_params(), f"csv:{csv}", "sp500")
        _run(["git", "add", "-A"], root)
        _run(["git", "commit", "-qm", "project"], root)
        # The MLflow store's tables made once (1.6 s each time a store is made): each copy starts with the empty
        # store a project's first run would make (mlruns/ is not in git).
        from mlflow import MlflowClient

        from tasks.services.tracking import store_uri

        MlflowClient(store_uri(root)).search_experiments()
    return root


def _moved_store(root: Path, template: Path) -> None:
    """The copied store's one absolute path (its Default experiment's artifact location) moved to the copy."""
    import sqlite3

    with contextlib.closing(sqlite3.connect(root / "mlruns" / "mlflow.db")) as db, db:
        db.execute("UPDATE experiments SET artifact_location = replace(artifact_location, ?, ?)",
                   (str(template), str(root)))  # fmt: skip


@pytest.fixture()
def project_dir(tmp_path: Path, project_template: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh project of its own (a copy of `project_template`, which holds no absolute path), as the cwd."""
    root = tmp_path / "proj"
    shutil.copytree(project_template, root, symlinks=True)
    _moved_store(root, project_template)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("STOCKFLOW_ROOT", raising=False)
    monkeypatch.chdir(root)
    return root


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
    # As on a run's private server (flows/server.py): no heartbeats, whose thread each sync flow run waits for
    # at its end (up to 1 s). Nothing here watches them.
    with (prefect_test_harness(server_startup_timeout=120),
          temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})):  # fmt: skip
        yield


@pytest.fixture()
def champion(project_dir, small_prices):
    """v1 of sp500, champion, trained on bars up to June 2018; the project's data then gets the rest of 2018."""
    from stockflow.data.prices import to_csv_text
    from tasks.commands.ingest import ingest
    from tasks.services.workspace import Workspace

    ws = Workspace.project(project_dir)
    held = project_dir.parent / "held.csv"
    held.write_text(to_csv_text(small_prices[small_prices["Date"] < "2018-06-30"]))
    ingest(ws, ws.load_params(), f"csv:{held}", "sp500")
    from tests.helpers import execute

    result = execute(project_dir, ["promote.max_mae_ratio=100"])
    assert result["promote"]["promote"] and result["promote"]["version"] == 1
    return ws


def append_rest(ws, small_prices):
    """The project's sp500 file extended to the end of 2018, as the drop folder would extend it."""
    from stockflow.data.prices import to_csv_text
    from tasks.commands.ingest import ingest

    full = ws.root.parent / "full.csv"
    full.write_text(to_csv_text(small_prices))
    ingest(ws, ws.load_params(), f"csv:{full}", "sp500")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The longest tests first (processes, servers, DVC; then the other slow ones), the quick ones last: two
    workers that steal from each other then end together instead of one waiting out another's long test."""
    heavy = ("tests/dvc/", "tests/flows/")

    def order(item: pytest.Item) -> int:
        if item.get_closest_marker("slow") is None:
            return 2
        return 0 if item.nodeid.startswith(heavy) else 1

    items.sort(key=order)
