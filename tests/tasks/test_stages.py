"""Each stage in a temp project: it writes exactly what the catalog declares and reads nothing else."""

from __future__ import annotations

import json
import shutil

import pytest

from stockflow.errors import DataValidationError
from tasks import kinds
from tasks.kinds import TICKER
from tasks.services import catalog, execution
from tasks.services.workspace import Workspace
from tests.helpers import all_runs, execute

pytestmark = pytest.mark.slow


def test_stages_write_what_the_catalog_declares_and_read_only_what_it_declares(project_dir, tmp_path):
    ws = Workspace.project(project_dir)
    params = ws.load_params()
    for stage in TICKER.names[:-1]:
        kinds.COMPUTE[stage](ws, params, "sp500")
        written = {p.name for p in ws.stage_dir("sp500", stage).iterdir()}
        assert written == set(kinds.STAGES[stage].writes), stage

    def strict(constant):  # Infinity and NaN are not JSON: DVC, browsers and most parsers reject them
        raise AssertionError(f"{constant} in a summary")

    for stage in TICKER.names[:-1]:
        json.loads((ws.stage_dir("sp500", stage) / catalog.SUMMARY).read_text(), parse_constant=strict)
    evaluate = json.loads((ws.stage_dir("sp500", "evaluate") / catalog.SUMMARY).read_text())
    assert set(evaluate["baselines"]) == {"persistence", "drift", "sma", "ridge", "svr"}
    backtest = json.loads((ws.stage_dir("sp500", "backtest") / catalog.SUMMARY).read_text())
    gross, net = backtest["strategy_gross"], backtest["strategy"]
    assert gross["trades"] == 0 or gross["final_equity"] >= net["final_equity"]
    opt = backtest["optimised"]  # tuned on the validation window, traded once on the test window
    assert opt["candidates"] == 36 and set(opt["chosen"]) == {"threshold", "stop_loss", "take_profit"}

    # Each stage again, in a workspace holding only the files it declares: it must not need anything else.
    for s in TICKER.stages[:-1]:
        alone = Workspace(project_dir, tmp_path / f"only-{s.name}")
        for ref in s.reads:
            source = catalog.files(s, ws, "sp500").input(ref)
            target = catalog.files(s, alone, "sp500").input(ref)
            if ref != catalog.SUITE:
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(source, target)
        kinds.COMPUTE[s.name](alone, params, "sp500")
        assert {p.name for p in alone.stage_dir("sp500", s.name).iterdir()} == set(s.writes)
        # Deterministic to the byte (DVC compares bytes: a fresh clone's run must leave the committed dvc.lock as
        # it is), the trained model and the figures included.
        for name in s.writes:
            first, again = ws.stage_dir("sp500", s.name) / name, alone.stage_dir("sp500", s.name) / name
            assert first.read_bytes() == again.read_bytes(), f"{s.name}/{name}"


def test_an_undeclared_file_is_an_error(project_dir):
    f = catalog.files(kinds.STAGES["train"], Workspace.project(project_dir), "sp500")
    with pytest.raises(KeyError, match="without declaring it"):
        f.input("evaluate/predictions.csv")
    with pytest.raises(KeyError, match="without declaring it"):
        f.output("notes.txt")


def test_a_failing_stage_ends_the_run_failed_with_what_it_has(project_dir):
    ex = execute(project_dir, upto="preprocess")["execution"]
    (ex.ws.stage_dir("sp500", "preprocess") / "dataset.npz").unlink()
    with pytest.raises(FileNotFoundError):
        try:
            execution.compute(ex, "train")
        except BaseException as exc:
            execution.abort(ex, exc)
            raise
    (run,) = all_runs(project_dir)
    assert run.info.status == "FAILED" and "FileNotFoundError" in run.data.tags["stockflow.failure"]
    assert "validate/rows" in run.data.metrics and "preprocess/lookback" in run.data.metrics
    assert not ex.ws.work.exists()  # the private workspace is gone


def test_bad_data_stops_at_validate_with_the_report(project_dir):
    path = project_dir / "data" / "sp500.csv"
    lines = path.read_text().splitlines()
    cells = lines[100].split(",")
    cells[4] = str(float(cells[4]) * 100)  # a close off by a factor of 100
    lines[100] = ",".join(cells)
    path.write_text("\n".join(lines) + "\n")
    dvc_before = (project_dir / "data.dvc").read_text()
    with pytest.raises(DataValidationError, match="beyond validate.max_abs_return"):
        execute(project_dir)
    (run,) = all_runs(project_dir)
    assert run.info.status == "FAILED" and "data validation failed" in run.data.tags["stockflow.failure"]
    from tests.helpers import client

    assert {a.path for a in client(project_dir).list_artifacts(run.info.run_id, "validate")} == {
        "validate/report.json", "validate/report.md"}  # fmt: skip
    assert (project_dir / "data.dvc").read_text() == dvc_before
    assert not client(project_dir).search_registered_models()


def test_a_pass_is_reused_for_the_same_bytes_and_rules_and_a_failure_never(project_dir, monkeypatch):
    """The validate stage runs the suite once per (file, suite, thresholds, code): same report, no second run."""
    from stockflow.data import validation
    from tasks.stages import validate

    calls = []
    real = validation.run_suite
    monkeypatch.setattr(validation, "run_suite", lambda *a, **k: calls.append("suite") or real(*a, **k))
    ws = Workspace.project(project_dir)
    first = validate.compute(ws, ws.load_params(), "sp500")
    report = (ws.stage_dir("sp500", "validate") / "report.json").read_text()
    again = validate.compute(ws, ws.load_params(), "sp500")
    assert calls == ["suite"] and again == first  # the second pass was the first's, remembered
    assert (ws.stage_dir("sp500", "validate") / "report.json").read_text() == report

    suite = project_dir / "expectations" / "ohlcv.json"
    suite.write_text(suite.read_text().replace('"warning"', '"critical"', 1))  # another suite: checked again
    validate.compute(ws, ws.load_params(), "sp500")
    assert calls == ["suite"] * 2
    stricter = ws.load_params(["validate.min_rows=100000"])  # other thresholds: checked again, and failing
    for _ in range(2):  # a failure is checked, and reported, every time
        with pytest.raises(DataValidationError, match="too few rows"):
            validate.compute(ws, stricter, "sp500")
    assert calls == ["suite"] * 4
