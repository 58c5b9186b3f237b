"""Registry and promotion gate on a real MLflow store: first model, better, equal, worse, failed run; predict."""

from __future__ import annotations

import json

import mlflow
import pytest
from typer.testing import CliRunner

from flows.cli import app
from tasks import registry, tracking
from tasks.pipeline import stage_function
from tasks.project import STAGES, Project

pytestmark = pytest.mark.slow

# A next-close (price level) model trained for one epoch: far worse than a return model on the same days.
BAD = ["preprocess.target=price", "preprocess.scaler=minmax", "preprocess.features=[close]"]
LOOSE = ["promote.max_mae_ratio=100"]  # let a weak first model through, to have a champion to beat
SHARPE_TOLERANT = ["promote.min_sharpe_gain=-100"]  # judge these cases on forecast error alone


def pipeline(root, overrides: list[str], upto: str = STAGES[-1]) -> tuple[str, dict]:
    project = Project(root)
    params = project.load_params(overrides)
    run_id = tracking.open_run(project, params, "sp500", trigger="test")
    result = {}
    for stage in STAGES[: STAGES.index(upto) + 1]:
        result = stage_function(stage)(project, params, "sp500", run_id, final=stage == STAGES[-1])
    return run_id, result


def aliases() -> dict[str, str]:
    return {
        k: str(v) for k, v in mlflow.MlflowClient().get_registered_model(registry.model_name("sp500")).aliases.items()
    }


def test_gate_sequence_on_a_real_registry(project_dir):
    client = mlflow.MlflowClient
    run1, first = pipeline(project_dir, BAD + LOOSE)
    assert first["promote"] and first["reason"].startswith("first model") and first["version"] == 1
    assert aliases() == {"champion": "1", "challenger": "1"}

    run2, better = pipeline(project_dir, LOOSE + SHARPE_TOLERANT)
    assert better["promote"] and better["challenger_mae"] < better["champion_mae"]
    assert aliases() == {"champion": "2", "challenger": "2"}
    assert client().get_run(run2).data.tags["stockflow.promotion"].startswith("promoted v2")
    assert client().get_run(run1).data.tags["stockflow.challenged_by.v2"].startswith("promoted v2")

    run3, equal = pipeline(project_dir, LOOSE + SHARPE_TOLERANT)  # same data, params and seed: the same model
    assert not equal["promote"] and equal["challenger_mae"] == pytest.approx(equal["champion_mae"])
    assert aliases() == {"champion": "2", "challenger": "3"}
    assert client().get_run(run3).data.tags["stockflow.promotion"].startswith("rejected v3")
    assert "stockflow.challenged_by.v3" in client().get_run(run2).data.tags

    _, worse = pipeline(project_dir, BAD + LOOSE)
    assert not worse["promote"] and "not below champion" in worse["reason"]
    assert aliases() == {"champion": "2", "challenger": "4"}
    version = client().get_model_version(registry.model_name("sp500"), "4")
    assert version.tags["stockflow.gate"] == "rejected" and version.tags["stockflow.data_version"]

    # A run that fails in its last stage registers nothing and moves no alias.
    project = Project(project_dir)
    run5, _ = pipeline(project_dir, LOOSE, upto="backtest")
    (project.out_dir("sp500", "evaluate") / "predictions.csv").unlink()
    with pytest.raises(FileNotFoundError):
        stage_function("promote")(project, project.load_params(LOOSE), "sp500", run5, final=True)
    assert client().get_run(run5).info.status == "FAILED"
    assert aliases() == {"champion": "2", "challenger": "4"}
    assert len(client().search_model_versions(f"name = '{registry.model_name('sp500')}'")) == 4


def test_first_model_worse_than_persistence_is_not_champion_and_predict_says_so(project_dir):
    runner = CliRunner()
    _, first = pipeline(project_dir, BAD)
    assert not first["promote"] and "worse than persistence" in first["reason"]
    assert aliases() == {"challenger": "1"}
    refused = runner.invoke(app, ["predict", "--root", str(project_dir)])
    assert refused.exit_code == 1 and "no champion" in refused.output

    pipeline(project_dir, LOOSE)
    stale = runner.invoke(app, ["predict", "--root", str(project_dir)])
    assert stale.exit_code == 1 and "is stale: its last bar is 2018-12-31" in stale.output
    out = runner.invoke(app, ["predict", "--root", str(project_dir), "--allow-stale", "--json"])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert got["version"] == 2 and got["last_date"] == "2018-12-31" and got["target_date"] == "2019-01-01"
    assert got["signal"] in (0, 1) and got["forecast"] == pytest.approx(
        got["last_close"] * (1 + got["expected_return"])
    )
    assert got["data_version"] in (project_dir / "data.dvc").read_text()
