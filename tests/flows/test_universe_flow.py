"""A universe as its users run it: `stockflow run --universe` in a process of its own on a real Prefect API, then
`predict` and `monitor` on its champion; and `dvc repro` / `dvc exp run` of its stages."""

from __future__ import annotations

import json
import subprocess

import pytest
import yaml

from stockflow.data import synthetic
from stockflow.data.prices import to_csv_text
from tasks.services import tracking
from tests.helpers import BIN, all_runs, dvc, env_with_venv, every_run, prefect_runs

pytestmark = pytest.mark.slow

SMALL = ["universe.train.units=16", "universe.train.epochs=10", "universe.train.learning_rate=0.003",
         "universe.preprocess.lookback=20", "universe.evaluate.ridge_samples=3000", "universe.evaluate.control=false",
         "universe.portfolio.ks=[3]", "universe.portfolio.ns=[1]", "universe.portfolio.weightings=[equal]"]  # fmt: skip


def universe_of(root, days: int = 1200) -> list[str]:
    frames = synthetic.universe(8, days, synthetic.PLANTED, seed=4, shock=synthetic.SHOCK)  # beyond any baseline
    for ticker, frame in frames.items():
        (root / "data" / f"{ticker}.csv").write_text(to_csv_text(frame))
    return list(frames)


def stockflow(root, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / "stockflow"), *args, "--root", str(root)], capture_output=True, text=True,
                          env=env_with_venv(**env), timeout=600)  # fmt: skip


def test_a_universe_run_its_target_portfolio_and_its_check_as_processes(project_dir, prefect_harness):
    from prefect.settings import PREFECT_API_URL

    tickers = universe_of(project_dir)
    sets = [arg for s in [f"universes.p=[{','.join(tickers)}]", *SMALL] for arg in ("--set", s)]
    earlier = {r.id for r in prefect_runs("retrain-universe")}  # the harness is shared: other tests' runs are in it
    out = stockflow(project_dir, "run", "--universe", "p", *sets, PREFECT_API_URL=PREFECT_API_URL.value())
    assert out.returncode == 0, out.stderr[-3000:]
    assert "scores, test window" in out.stdout and "portfolio, test (net)" in out.stdout
    assert "stockflow-universe-p v1 (challenger), now champion" in out.stdout, out.stdout[-2500:]
    (flow_run,) = [r for r in prefect_runs("retrain-universe") if r.id not in earlier]
    assert flow_run.state_name == "Completed" and {"universe:p", "kind:universe", "trigger:cli"} <= set(flow_run.tags)
    (run,) = all_runs(project_dir)
    assert run.info.status == "FINISHED" and run.data.tags[tracking.UNIVERSE] == "p"
    assert run.data.tags[tracking.PREFECT_RUN] == str(flow_run.id)

    # Tomorrow's portfolio from the champion, and its check: no live day yet.
    target = stockflow(project_dir, "predict", "--universe", "p", "--allow-stale", "--json")
    assert target.returncode == 0, target.stderr[-2000:]
    assert "Found extra inputs" not in target.stderr and "WARNING" not in target.stderr  # no library noise
    portfolio = json.loads(target.stdout)
    assert len(portfolio["holdings"]) == 3 and sum(h["weight"] for h in portfolio["holdings"]) == pytest.approx(1)
    assert {s["ticker"] for s in portfolio["scores"]} == set(tickers) and portfolio["version"] == 1
    stale = stockflow(project_dir, "predict", "--universe", "p")
    assert stale.returncode == 1 and "is stale" in stale.stderr and "Traceback" not in stale.stderr
    check = stockflow(project_dir, "monitor", "--universe", "p", "--json")
    assert check.returncode == 0, check.stderr[-2000:]
    assert "Found extra inputs" not in check.stderr and "WARNING" not in check.stderr
    assert json.loads(check.stdout)["verdict"] == "too few days"
    # Every run of every experiment finished: the training run, the check.
    assert {r.info.status for r in every_run(project_dir)} == {"FINISHED"} and len(every_run(project_dir)) == 2

    # Made again from its MLflow record alone (its commit, its settings file, its DVC data version): the same figures.
    again = stockflow(project_dir, "reproduce", run.info.run_id, PREFECT_API_URL=PREFECT_API_URL.value())
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "Reproduced: every headline figure is equal." in again.stdout and "universe p's 8 files" in again.stdout


def test_dvc_repro_and_dvc_exp_run_train_a_universe(project_dir):
    tickers = universe_of(project_dir, days=900)
    params = yaml.safe_load((project_dir / "params.yaml").read_text())
    params["data"]["universes"] = ["p"]
    params["universes"] = {"p": tickers}
    from stockflow.config import apply_overrides

    (project_dir / "params.yaml").write_text(yaml.safe_dump(apply_overrides(params, SMALL), sort_keys=False))
    out = dvc(project_dir, "repro", "universe_promote@p")
    assert out.returncode == 0, out.stderr[-3000:] + out.stdout[-3000:]
    (run,) = all_runs(project_dir)
    assert run.info.status == "FINISHED" and run.data.tags[tracking.TRIGGER] == "dvc"
    assert json.loads((project_dir / "metrics" / "universe-p.json").read_text())["rank_ic"] is not None
    status = dvc(project_dir, "status", "universe_promote@p")
    assert "up to date" in status.stdout, status.stdout

    exp = dvc(project_dir, "exp", "run", "universe_promote@p", "-S", "universe.train.epochs=1")
    assert exp.returncode == 0, exp.stderr[-3000:]
    runs = all_runs(project_dir)
    assert len(runs) == 2 and runs[1].data.params["universe.train.epochs"] == "1"
    assert runs[1].data.tags.get(tracking.DVC_EXP) and runs[1].info.status == "FINISHED"
    assert "universe_validate, universe_preprocess" in runs[1].data.tags[tracking.STAGES_REUSED]
