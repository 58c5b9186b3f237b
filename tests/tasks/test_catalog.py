"""The stages' declarations are the one description of every stage: dvc.yaml is rendered from them and must not
drift."""

from __future__ import annotations

from pathlib import Path

import yaml

from tasks import kinds
from tasks.kinds import TICKER, UNIVERSE
from tasks.services import catalog, dvc_file

REPO = Path(__file__).resolve().parents[2]


def test_dvc_yaml_is_the_catalog_rendered():
    assert (REPO / "dvc.yaml").read_text() == dvc_file.render(), "run `make dvc.yaml` and commit it"


def test_every_stage_runs_per_ticker_or_per_universe_with_its_code_as_dependencies():
    stages = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"]
    assert list(stages) == list(kinds.STAGES)
    for name, spec in stages.items():
        each = f"${{data.{kinds.of_stage(name).listing}}}"
        assert spec["foreach"] == each and spec["do"]["cmd"] == f"python -m tasks {name} ${{item}}"
        assert f"tasks/stages/{name}.py" in spec["do"]["deps"]
    # A universe's stages read its tickers' files (data/ as a whole) and its own settings, and nothing of a ticker's.
    assert "data" in stages["universe_validate"]["do"]["deps"]
    assert "universes" in stages["universe_train"]["do"]["params"]  # a universe ingest defines is not in params.yaml
    # What a stage imports is what it depends on, through other modules too.
    # A plug-in package that finds its modules itself depends on each of them: every model family.
    assert {"stockflow/models/recurrent.py", "stockflow/models/boosting.py"} <= set(stages["train"]["do"]["deps"])
    assert {"tasks/services/tracking.py", "stockflow/champion/promotion.py"} <= set(stages["promote"]["do"]["deps"])
    assert "stockflow/ticker/forecaster.py" not in stages["validate"]["do"]["deps"]  # nothing more than it imports


def test_the_last_stage_is_never_restored_from_the_run_cache():
    """A stage restored from DVC's run-cache runs no command: the stage that records the run must always run."""
    for name in (TICKER.stages[-1].name, UNIVERSE.stages[-1].name):
        last = yaml.safe_load((REPO / "dvc.yaml").read_text())["stages"][name]["do"]
        assert all(next(iter(o.values())).get("persist") for o in last["outs"] + last["metrics"])


def test_reads_name_files_that_earlier_stages_write():
    for stages in (k.stages for k in kinds.KINDS):
        names = [s.name for s in stages]
        written = {f"{s.name}/{f}" for s in stages for f in s.writes}
        for s in stages:
            for ref in s.reads:
                assert ref in (catalog.DATA, catalog.SUITE, catalog.TICKERS, catalog.SUITES) or ref in written, ref
                if "/" in ref:
                    assert names.index(ref.split("/")[0]) < names.index(s.name)
            assert catalog.SUMMARY in s.writes and set(s.logged) <= set(s.writes)


def test_the_committed_lock_names_the_files_the_code_renders_with_their_current_bytes():
    """A fresh clone's `make run` must leave git and `dvc status` clean: dvc.lock describes this very code.

    The outputs' digests can only be checked by running the pipeline (the stage tests check that the outputs are
    the same bytes for the same inputs); everything else the lock says is checked here.
    """
    from tasks.services.workspace import md5, read_params_file

    params = read_params_file(REPO / "params.yaml")
    lock = yaml.safe_load((REPO / "dvc.lock").read_text())["stages"]
    rendered = yaml.safe_load(dvc_file.render())["stages"]
    each = {name: params["data"][kinds.of_stage(name).listing] for name in rendered}
    assert set(lock) == {f"{name}@{t}" for name in rendered for t in each[name]}, "run `make lock` and commit dvc.lock"
    for name, spec in rendered.items():
        for ticker in each[name]:
            entry, body = lock[f"{name}@{ticker}"], spec["do"]
            assert entry["cmd"] == body["cmd"].replace("${item}", ticker)
            deps = [d.replace("${item}", ticker).replace("${validate.suite}", params["validate"]["suite"])
                    for d in body["deps"]]  # fmt: skip
            assert [d["path"] for d in entry["deps"]] == sorted(deps), f"{name}: run `make lock` and commit dvc.lock"
            for dep in entry["deps"]:
                if not dep["path"].startswith(("data/", "outputs/")):  # code and suites: in git, so checkable here
                    assert dep["md5"] == md5(REPO / dep["path"]), f"{dep['path']} changed: run `make lock`"
            for key in (k.replace("${item}", ticker) for k in body["params"]):
                assert entry["params"]["params.yaml"].get(key) == _value(params, key), f"params.yaml {key}: `make lock`"
            outs = body["outs"] + body.get("plots", []) + body.get("metrics", [])
            outs = [(next(iter(o)) if isinstance(o, dict) else o).replace("${item}", ticker) for o in outs]
            assert sorted(o["path"] for o in entry["outs"]) == sorted(outs), f"{name}: `make lock`"


def _value(params: dict, key: str):
    """A dotted key's value in params.yaml, as DVC records it."""
    for part in key.split("."):
        params = params.get(part) if isinstance(params, dict) else None
    return params
