"""A universe's retraining replayed over history (`stockflow replay --universe`), on universes whose answer is known:
a planted signal is found out of sample in every segment and traded past equal weight; pure noise is not found and
holds equal weight. One parent run, a child run per segment; the segments run side by side on a Dask cluster."""

from __future__ import annotations

import pytest

from stockflow.data import synthetic
from tasks.services import tracking
from tests.flows.test_universe_flow import stockflow
from tests.helpers import all_runs
from tests.tasks.test_universe import planted

pytestmark = pytest.mark.slow

SMALL = ["universe.train.epochs=4", "universe.evaluate.control=false"]


def replayed(root, name: str, overrides: list[str], runner: str = "local", workers: int = 1):
    from flows.replay import replay_universe
    from flows.runners import task_runner

    flow = replay_universe.with_options(task_runner=task_runner(runner, workers)) if workers > 1 else replay_universe
    return flow(universe=name, root=str(root), start="2003-01-01", months=12, overrides=overrides)


def test_a_planted_signal_is_found_out_of_sample_by_every_retrain_and_traded(project_dir, prefect_harness):
    overrides, _ = planted(project_dir, "p", synthetic.PLANTED, seed=2, shock=synthetic.SHOCK)
    r = replayed(project_dir, "p", [*overrides, *SMALL])
    assert r["segments_run"] == 3 and r["start"].startswith("2003-01") and r["test_days"] > 600
    model = r["all"]["model"]["rank_ic"]
    assert model["mean"] > 0.05 and model["t_stat"] > 4, model
    assert all(s["model"] > 0 for s in r["segments"])  # found again by each retrain, on the step after it
    assert r["portfolio"]["model"]["excess_return"] > 0 and r["portfolio"]["model"]["cost_drag"] > 0

    runs = all_runs(project_dir)
    parent = next(x for x in runs if x.info.run_id == r["run_id"])
    children = [x for x in runs if x.data.tags.get("mlflow.parentRunId") == r["run_id"]]
    assert parent.info.status == "FINISHED" and parent.data.tags[tracking.UNIVERSE] == "p"
    assert sorted(c.data.tags[tracking.AS_OF] for c in children) == ["2003-01-01", "2004-01-01", "2005-01-01"]
    assert parent.data.metrics["replay/model.rank_ic.mean"] == pytest.approx(model["mean"])


def test_pure_noise_replayed_from_the_command_line_on_dask_is_found_in_no_segment(project_dir):
    noise, _ = planted(project_dir, "n", 0.0, seed=5)
    sets = [arg for o in noise for arg in ("--set", o)]
    early = stockflow(project_dir, "replay", "--universe", "n", "--start", "2000-06-01", *sets)  # no year to train on
    assert early.returncode == 2 and "leaving no training data" in early.stderr and "Traceback" not in early.stderr
    assert not all_runs(project_dir)  # refused before any run was opened
    # A ridge: what is tested here is the command, the cluster and the verdict, not the network's training.
    sets = [arg for o in [*noise, *SMALL, "universe.train.architecture=linear"] for arg in ("--set", o)]
    out = stockflow(project_dir, "replay", "--universe", "n", "--start", "2003-01-01", "--every", "18M",
                    "--runner", "dask", "--workers", "2", *sets)  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    assert "replay of universe n, retrained every 18M: 2 segments" in out.stdout, out.stdout
    assert "WARNING" not in out.stderr and "Traceback" not in out.stderr, out.stderr[-3000:]
    parent = next(r for r in all_runs(project_dir) if r.data.tags.get(tracking.TRIGGER) == "replay")
    assert abs(parent.data.metrics["replay/model.rank_ic.t_stat"]) < 3
    assert parent.data.metrics["replay/portfolio.model.turnover"] < 0.02  # held equal weight: no edge on validation
