"""The `monitor` flow: after the close, take new bars, check each champion, and raise an alarm when a check calls
for one.

An alarm is a Prefect event, `stockflow.champion.<verdict>` (`decayed`, `miscovered`,
`drifted`: one per statistic of `stockflow/monitors/`), about the resource
`stockflow.model.<ticker>`, with the check's figures as its payload.
`prefect.yaml` deploys this flow as `monitor` and gives the `retrain` deployment a
trigger on those events: the retrain starts for that ticker only, with the reason and
the monitor run as parameters. A champion that raised an alarm raises the next one only
after `monitor.cooldown_days` more live days (a rejected retrain leaves it in place).
"""

from __future__ import annotations

from typing import Any

from prefect import flow, get_run_logger, runtime, task
from prefect.cache_policies import NO_CACHE

from flows.schedule import take_new_bars
from flows.tagging import tag_this_flow_run
from stockflow.champion.monitor_report import Report
from stockflow.errors import MonitorError, StockflowError
from tasks.services import tracking
from tasks.services.files import strict
from tasks.services.workspace import Workspace, project_root


def resource_id(ticker: str) -> str:
    """The Prefect resource an alarm is about: one champion, `stockflow.model.<ticker>`."""
    return f"stockflow.model.{ticker}"


def emit_alarm(report: Report) -> Any:
    """Send the alarm event (`stockflow.champion.<verdict>`, the check's figures as payload); MonitorError if Prefect
    did not take it (emit_event says None when events are off)."""
    from prefect.events import emit_event

    event = emit_event(
        event=report.event,
        resource={
            "prefect.resource.id": resource_id(report.ticker),
            "prefect.resource.name": tracking.model_name(report.ticker),
            "stockflow.ticker": report.ticker,
            "stockflow.version": str(report.version),
        },
        payload=strict(report.payload()),
    )
    if event is None:
        raise MonitorError(f"the alarm for {report.ticker} was not sent: Prefect events are off here (no "
                           "PREFECT_API_URL and no temporary server), so no retrain can answer it")  # fmt: skip
    return event


@task(name="monitor", cache_policy=NO_CACHE)
def check_champion(root: str, ticker: str) -> Report:
    """Check the champion of `ticker` on its live days; record the check as a monitor run."""
    from tasks.commands import monitor

    ws = Workspace.project(root)
    links = {tracking.PREFECT_RUN: str(runtime.flow_run.id)}
    report = monitor.check(ws, ws.load_params(), ticker, trigger="prefect", links=links)
    for line in report.text().splitlines():
        get_run_logger().info(line)
    return report


@task(name="raise_alarm", cache_policy=NO_CACHE)
def raise_alarm(root: str, report: Report) -> str:
    """Emit the alarm event for a champion whose check calls for one and note it on the version; the event's id."""
    from tasks.commands import monitor

    event = emit_alarm(report)
    ws = Workspace.project(root)
    monitor.note_alarm(ws, ws.load_params(), report)
    get_run_logger().warning("%s: %s -> event %s (%s)", report.ticker, report.reason(), event.event, event.id)
    return str(event.id)


def _flow_run_name() -> str:
    """`monitor sp500,nasdaq`: the tickers it checks (params.yaml's watchlist when none are given)."""
    p = runtime.flow_run.parameters
    try:
        tickers = p.get("tickers") or Workspace.project(project_root(p.get("root"))).load_params().data.tickers
    except Exception:  # noqa: BLE001 - a name is a convenience; the flow reports the real error itself
        tickers = []
    return f"monitor {','.join(tickers)}" if tickers else "monitor"


@task(name="monitor_universe", cache_policy=NO_CACHE)
def check_universe(root: str, universe: str) -> dict[str, Any]:
    """Check the champion of a universe on its live days; record the check as a monitor run."""
    from tasks.commands import universe as universes

    ws = Workspace.project(root)
    report = universes.check(ws, ws.load_params(), universe, trigger="prefect",
                             links={tracking.PREFECT_RUN: str(runtime.flow_run.id)})  # fmt: skip
    for line in universes.text(report).splitlines():
        get_run_logger().info(line)
    return report


@task(name="raise_universe_alarm", cache_policy=NO_CACHE)
def raise_universe_alarm(root: str, report: dict[str, Any]) -> str:
    """Emit `stockflow.universe.decayed` about `stockflow.universe.NAME` and note it on the version; the event's id."""
    from prefect.events import emit_event

    from tasks.commands import universe as universes

    name = report["universe"]
    event = emit_event(
        event=f"{universes.EVENT_PREFIX}{report['verdict']}",
        resource={"prefect.resource.id": f"stockflow.universe.{name}",
                  "prefect.resource.name": tracking.model_name(universes.key(name)), "stockflow.universe": name},
        payload={"universe": name, "reason": universes.reason(report), "monitor_run_id": report["run_id"],
                 **{k: v for k, v in report.items() if not isinstance(v, dict)}},
    )  # fmt: skip
    if event is None:
        raise MonitorError(f"the alarm for universe {name} was not sent: Prefect events are off here")
    ws = Workspace.project(root)
    universes.note_alarm(ws, ws.load_params(), report)
    get_run_logger().warning("universe %s: %s -> event %s", name, universes.reason(report), event.event)
    return str(event.id)


@flow(name="monitor", flow_run_name=_flow_run_name, log_prints=True)
def monitor_champions(tickers: list[str] | None = None, root: str | None = None, take_bars: bool = True,
                      universes: list[str] | None = None) -> dict[str, Any]:  # fmt: skip
    """New bars from the drop folder, then each champion checked (the tickers', and the universes'); alarms raised as
    events. Fails if any check did."""
    root_path = str(project_root(root))
    params = Workspace.project(root_path).load_params()
    names = list(tickers or params.data.tickers)
    groups = list(params.data.universes if universes is None else universes)
    tag_this_flow_run(*names, *(f"universe:{u}" for u in groups), "kind:monitor")
    checks, alarms, failed = {}, {}, {}
    for ticker in names:
        try:
            if take_bars:
                take_new_bars(root_path, ticker)
            report = check_champion(root_path, ticker)
            checks[ticker] = report.to_dict()
            if report.alarm:
                alarms[ticker] = raise_alarm(root_path, report)
        except StockflowError as exc:
            failed[ticker] = str(exc).splitlines()[0]
            get_run_logger().error("%s: not checked: %s", ticker, failed[ticker])
    for universe in groups:
        try:
            if take_bars:
                for ticker in params.universes.get(universe, ()):
                    take_new_bars(root_path, ticker)
            report = checks[f"universe {universe}"] = check_universe(root_path, universe)
            if report["alarm"]:
                alarms[f"universe {universe}"] = raise_universe_alarm(root_path, report)
        except StockflowError as exc:
            failed[f"universe {universe}"] = str(exc).splitlines()[0]
            get_run_logger().error("universe %s: not checked: %s", universe, failed[f"universe {universe}"])
    if failed:  # one state in every tool: a check that failed is a failed flow run, as its ticker's run would be
        raise MonitorError("; ".join(f"{k}: {v}" for k, v in failed.items()))
    return {"checks": checks, "alarms": alarms}
