"""`dvc.yaml`, rendered from the stages' declarations (`make dvc.yaml`; a test fails when the two disagree).

Each kind's stages, once per subject its params.yaml listing names (`data.tickers`,
`data.universes`), each running `python -m tasks STAGE NAME`; a stage's dependencies are the
files it declares it reads and the project's modules it imports (`catalog.code_deps`).
"""

from __future__ import annotations

from tasks import kinds
from tasks.services.catalog import DATA, REPO, SUITE, SUITES, TICKERS, code_deps


def _path(ref: str) -> list[str]:
    if ref == DATA:
        return ["data/${item}.csv"]
    if ref == SUITE:
        return ["expectations/${validate.suite}.json"]
    if ref == TICKERS:
        return ["data"]
    if ref == SUITES:
        return ["expectations/${validate.suite}.json", "expectations/${validate.close_suite}.json"]
    upstream, name = ref.split("/", 1)
    return [f"outputs/${{item}}/{upstream}/{name}"]


def render() -> str:
    """dvc.yaml: each stage of each kind once per subject of the kind's listing in params.yaml's `data`."""
    import yaml

    stages = {}
    for kind in kinds.KINDS:
        for s in kind.stages:
            out_dir = f"outputs/${{item}}/{s.name}"
            last = s is kind.stages[-1]
            # The last stage records the run: never restored from DVC's run-cache (persist), so each repro records one.
            outs = [{f"{out_dir}/{f}": {"persist": True, "cache": False}} if last else f"{out_dir}/{f}"
                    for f in s.writes if f not in s.figures]  # fmt: skip
            body = {
                "desc": s.purpose,
                "cmd": f"python -m tasks {s.name} ${{item}}",
                "deps": [path for r in s.reads for path in _path(r)] + list(code_deps(f"tasks.stages.{s.name}")),
                "params": list(s.params),
                "outs": outs,
            }
            if s.figures:
                body["plots"] = [f"{out_dir}/{f}" for f in s.figures]
            if last:
                body["metrics"] = [{f"metrics/{kind.registered('${item}')}.json": {"cache": False, "persist": True}}]
            stages[s.name] = {"foreach": f"${{data.{kind.listing}}}", "do": body}
    header = (
        "# Rendered from the stages' declarations (tasks/stages/<stage>.py: STAGE) by `make dvc.yaml`: edit those,\n"
        "# not this file (tests/tasks/test_catalog.py fails when they disagree).\n"
        "# Each stage runs the stage function the Prefect flow runs (tasks/stages/<stage>.py), once per ticker in\n"
        "# params.yaml's data.tickers: `dvc repro` for the watchlist, `dvc repro train@sp500` for one stage; the\n"
        "# universe_* stages once per universe of data.universes (`dvc repro universe_train@sp20`).\n"
        "# Use the project's Python: `make repro`, or `source .venv/bin/activate && dvc repro`.\n"
    )
    return header + yaml.safe_dump({"stages": stages}, sort_keys=False, width=120)


if __name__ == "__main__":
    (REPO / "dvc.yaml").write_text(render())
    print("dvc.yaml written from the stages' declarations")
