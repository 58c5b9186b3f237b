"""The `retrain-universe` flow: universe_validate -> universe_preprocess -> universe_train -> universe_evaluate ->
universe_backtest -> universe_promote, for one universe (a named list of tickers in params.yaml's `universes`).

The same execution as a ticker's (tasks/services/execution.py), with the universe's stages:
one MLflow run, every ticker's data version as a dataset, the registered model
`stockflow-universe-NAME` behind its gate. `flows/schedule.py` retrains it on new bars and on the
monitor's alarm, as it does a ticker.
"""

from __future__ import annotations

from typing import Any

from prefect import flow

from flows.retrain import begin, described_run, run_stages
from flows.tagging import tag_this_flow_run
from tasks.kinds import UNIVERSE
from tasks.services.workspace import Workspace, project_root


def _flow_run_name() -> str:
    """`universe sp20 epochs=3`: the universe and what differs from the committed settings (or the given name)."""
    return described_run(lambda p, _: p["universe"], lambda p: UNIVERSE.label(p.get("universe")), UNIVERSE)


@flow(name="retrain-universe", flow_run_name=_flow_run_name, log_prints=True)
def retrain_universe(
    universe: str,
    root: str | None = None,
    overrides: list[str] | None = None,
    name: str | None = None,
    trigger: str = "prefect",
    parent_run_id: str | None = None,
    progress: bool = False,
    links: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Validate every ticker, build the panel, train one network across the universe, score it beside the baselines,
    trade its portfolio, and gate it; each stage's summary and the run id."""
    root_path = project_root(root)
    overrides = list(overrides or [])
    params = Workspace.project(root_path).load_params(overrides)
    tag_this_flow_run(UNIVERSE.tag(universe), f"preset:{params.preset}", f"trigger:{trigger}", "kind:universe")
    ex = begin(str(root_path), UNIVERSE.subject(universe, params.universes), overrides, name, trigger, parent_run_id,
               links)  # fmt: skip
    return run_stages(ex, progress)
