"""`stockflow tune`: an Optuna study of a ticker's or a universe's settings, its trials recorded in MLflow.

The study lives in a database a team already has (`tune.storage`; by default `mlruns/optuna.db`
beside MLflow's own): trials run side by side (each asks the study for its settings and tells it
its result) and a study stopped by Ctrl-C or kill -9 resumes from there (`--resume`). Each trial
is a nested MLflow run of the study's run: its settings as params, its per-epoch losses, its
objective and its state (complete, pruned, failed), so MLflow's chart view compares them. The
search reads the training and validation windows only (`stockflow/tuning.py`); when it ends,
the best settings become a preset in params.yaml (`stockflow run --preset tuned-STUDY`, `dvc exp
run -S preset=tuned-STUDY`), trained once as a normal run and judged on the test window.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any

import pandas as pd

from stockflow import tuning
from stockflow.config import Params
from stockflow.errors import StockflowError, UsageError
from tasks import kinds
from tasks.kinds import TICKER, Kind, Subject
from tasks.services import tracking
from tasks.services.failures import failure_reason
from tasks.services.workspace import Workspace

KIND = "tune"  # the study's and its trials' MLflow runs: apart from training runs in `stockflow runs`
STUDY, TRIAL, STATE = "stockflow.study", "stockflow.trial", "stockflow.tune.state"


@dataclass(frozen=True)
class Target:
    """What a study tunes: a ticker or a universe, and the settings (`--set`) every trial starts from."""

    subject: Subject
    overrides: tuple[str, ...] = ()

    @property
    def minimise(self) -> bool:
        return self.subject.kind.study.minimise  # a ticker's validation loss down; a universe's Rank IC up

    def space(self, params: Params) -> dict:
        return dict(self.subject.kind.study.space(params))


def target_for(params: Params, name: str, kind: Kind, overrides: list[str] | tuple[str, ...] = ()) -> Target:
    """The subject `name` of `kind` (UsageError when the settings give it no tickers: a universe not defined)."""
    subject = kind.subject(name, params.universes)
    if not subject.tickers:
        raise UsageError(f"no universe {name!r} in params.yaml's universes (there: {', '.join(params.universes)})")
    return Target(subject, tuple(overrides))


def prepare(ws: Workspace, name: str | None, kind: Kind, overrides: list[str], study: str | None,
            resume: str | None) -> tuple[Target, str, Any]:  # fmt: skip
    """The study a `tune` starts (or resumes), its target and name: every refusal (a target without data, a name
    taken by a study of another space, a study that does not exist) before anything is recorded."""
    if resume:
        target, stored = resumed_target(ws, ws.load_params(), resume)
        _data(ws, ws.load_params(target.overrides), target)
        return target, resume, stored
    params = ws.load_params(overrides)
    target = target_for(params, name or "", kind, overrides)
    _data(ws, params, target)
    study = study or study_name_for(target)
    return target, study, study_for(ws, params, target, study, create=True)


def storage_url(ws: Workspace, params: Params) -> str:
    """The study's database: `tune.storage`, else a SQLite file beside the project's MLflow store."""
    if params.tune.storage:
        return params.tune.storage
    home = ws.root / "mlruns"
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'optuna.db'}"


def open_storage(url: str, tries: int = 6) -> Any:
    """Optuna's storage at `url`. Clients that open a new database at the same moment (two studies started at
    once, a dashboard) each write its schema, and all but one fail ("table already exists", a UNIQUE constraint on
    its version): those open it again, made by then."""
    import optuna
    import sqlalchemy.exc

    for attempt in range(tries - 1):
        with contextlib.suppress(sqlalchemy.exc.OperationalError, sqlalchemy.exc.IntegrityError):
            return optuna.storages.RDBStorage(url)
        time.sleep(0.1 * 2**attempt)
    return optuna.storages.RDBStorage(url)


def study_for(ws: Workspace, params: Params, target: Target, name: str, create: bool) -> Any:
    """The study `name`, new (`create`) or as stored; UsageError when it exists with another target or space, or
    (to resume) does not exist."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, space = storage_url(ws, params), tuning.signature(target.space(params))
    storage = open_storage(url)
    known = {s.study_name: s for s in optuna.get_all_study_summaries(storage)}
    if name in known:
        attrs = known[name].user_attrs
        if create and (attrs.get("space") != space or attrs.get("target") != target.subject.name):
            raise UsageError(
                f"study {name!r} exists with another search space or target ({attrs.get('target')}): "
                f"name another (--study) or resume it with `stockflow tune --resume {name}`"
            )
        return optuna.load_study(study_name=name, storage=storage)
    if not create:
        raise UsageError(f"no study {name!r} in {url} (studies: {', '.join(known) or 'none'})")
    study = optuna.create_study(
        study_name=name, storage=storage, direction="minimize" if target.minimise else "maximize"
    )
    for key, value in {
        "space": space,
        "target": target.subject.name,
        "kind": target.subject.kind.name,
        "overrides": list(target.overrides),
    }.items():
        study.set_user_attr(key, value)
    incumbent = tuning.incumbent(params, target.space(params))
    if incumbent:  # the settings the study must beat are its first trial: the tuned run cannot be worse on validation
        study.enqueue_trial(incumbent, user_attrs={"incumbent": True})
    return study


def resumed_target(ws: Workspace, params: Params, name: str) -> tuple[Target, Any]:
    """The target of a stored study, and the study, its trials still RUNNING marked FAIL (their process is gone:
    resuming assumes no other process works on this study)."""
    from optuna.trial import TrialState

    probe = Target(Subject("?", (), TICKER))
    study = study_for(ws, params, probe, name, create=False)
    a = study.user_attrs
    target = target_for(params, a["target"], kinds.of_record(a), tuple(a.get("overrides", ())))
    if a.get("space") != tuning.signature(target.space(ws.load_params(target.overrides))):
        raise UsageError(
            f"study {name!r} was made with another search space than params.yaml's now: put it back, "
            "or start a new study"
        )
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(trial.number, state=TrialState.FAIL)
    return target, study


def remaining(study: Any, trials: int) -> int:
    """How many trials the study still owes to reach `trials` (complete, pruned or failed ones count)."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL))
    return max(0, trials - len(done))


def started(study: Any) -> int:
    """Trials asked for so far (a queued one, the settings to beat, not yet): the next trial's index."""
    from optuna.trial import TrialState

    return sum(t.state != TrialState.WAITING for t in study.get_trials(deepcopy=False))


def _data(ws: Workspace, params: Params, target: Target) -> Any:
    """The target's validated prices: a ticker's frame, or a universe's frames by ticker."""
    from tasks.stages.validate import ticker_prices

    kind = target.subject.kind
    frames = {t: ticker_prices(ws, params, t, UsageError, "study", closes_only=kind.closes_only)
              for t in target.subject.tickers}  # fmt: skip
    return kind.study_data(target.subject.name, frames)


def run_trial(
    root: str, study_name: str, target: Target, index: int, parent_run_id: str, deadline: float | None = None
) -> dict[str, Any]:
    """One trial: ask the study for settings (TPE, seeded by the study's seed and this trial's index), train on the
    training window, tell it the validation figure, record it as a nested MLflow run. Its number, state, value."""
    import optuna

    from stockflow.models import calling_every_batch, calling_every_epoch
    from tasks.services.process import check_signals, deferred_signals

    ws = Workspace.project(root)
    base = ws.load_params(target.overrides)
    if deadline is not None and time.time() > deadline:
        return {"index": index, "state": "not started: the study's time is up"}
    study = study_for(ws, base, target, study_name, create=False)
    study.sampler = optuna.samplers.TPESampler(seed=base.tune.seed + index)
    study.pruner = (
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2)
        if base.tune.pruning
        else (optuna.pruners.NopPruner())
    )
    trial = study.ask()
    values = tuning.suggest(trial, target.space(base))
    tracker = tracking.tracker_for(ws.root, base)
    said = " ".join(f"{key.rsplit('.', 1)[-1]}={value}" for key, value in values.items())
    run_id = tracker.open_run(
        f"trial {trial.number}: {said}",
        values,
        {tracking.KIND: KIND, STUDY: study_name, TRIAL: str(trial.number), **_subject_tags(target)},
        parent=parent_run_id,
    )
    curves: list[dict] = []

    def report(epoch: int, logs: dict[str, float]) -> None:
        curves.append({"epoch": epoch + 1, **logs})
        # Pruned on the validation loss per epoch; a universe's study maximises Rank IC, so the loss is negated (a
        # proxy: its Rank IC per epoch would cost a scoring pass each epoch).
        trial.report(logs["val_loss"] if target.minimise else -logs["val_loss"], epoch)
        if trial.should_prune():
            raise optuna.TrialPruned(f"validation loss {logs['val_loss']:.4g} at epoch {epoch + 1}")

    state, value = "complete", None
    try:
        params = ws.load_params([*target.overrides, *tuning.as_overrides(values)])
        data = _data(ws, params, target)
        objective = target.subject.kind.study.objective
        with deferred_signals(), calling_every_batch(check_signals), calling_every_epoch(report):
            value, _ = objective(data, params)
        study.tell(trial, value)
    except optuna.TrialPruned:
        state = "pruned"
        study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    except BaseException as exc:
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
        _record_trial(tracker, run_id, curves, "failed", None)
        tracker.finish(run_id, failure=failure_reason(exc))
        if isinstance(exc, Exception) and not isinstance(exc, StockflowError):
            return {"index": index, "number": trial.number, "state": "failed", "reason": failure_reason(exc)}
        raise  # a signal, or data that cannot be used: the study stops (and resumes)
    _record_trial(tracker, run_id, curves, state, value)
    tracker.finish(run_id)
    return {"index": index, "number": trial.number, "state": state, "value": value, "values": values}


def _subject_tags(target: Target) -> dict[str, str]:
    s = target.subject
    return tracking.subject_tags(s.name, s.kind.tagged_tickers(s))


def _record_trial(tracker: tracking.Tracker, run_id: str, curves: list[dict], state: str, value: float | None) -> None:
    if curves:
        frame = pd.DataFrame(curves)
        tracker.log_curves(run_id, frame, {"loss": "Loss/training", "val_loss": "Loss/validation"})
    tracker.set_tags(run_id, {STATE: state})
    if value is not None:
        tracker.log_metrics(run_id, {"tune/objective": value})


def open_study_run(
    ws: Workspace, params: Params, target: Target, study_name: str, resumed: bool, links: dict[str, str] | None = None
) -> str:
    """The study's MLflow run (its trials nest under it): its space and budget as params."""
    from stockflow.config import flatten

    tracker = tracking.tracker_for(ws.root, params)
    tracker.fail_dead_runs()  # a killed study's runs and trials: FAILED, none left RUNNING
    space = {k: d.model_dump(mode="json", exclude_none=True) for k, d in target.space(params).items()}
    settings = flatten(
        {
            "tune": {
                k: v for k, v in params.tune.model_dump(mode="json").items() if k not in ("space", "universe_space")
            },
            "space": space,
        }
    )
    name = f"tune {target.subject.label}: {study_name}"
    return tracker.open_run(
        name + (" (resumed)" if resumed else ""),
        settings,
        {tracking.KIND: KIND, STUDY: study_name, **_subject_tags(target), **(links or {})},
    )


def best_settings(ws: Workspace, target: Target, values: dict[str, Any]) -> dict[str, Any]:
    """Everything the best trial ran with that params.yaml does not say: the study's own settings (its `--set`, its
    preset) and the trial's values, as dotted keys; the tuner's own settings left out."""
    base = ws.load_params().flat()
    trial = ws.load_params([*target.overrides, *tuning.as_overrides(values)]).flat()
    return {k: v for k, v in trial.items() if base.get(k) != v and not k.startswith("tune.") and k != "preset"}


def write_preset(ws: Workspace, study_name: str, values: dict[str, Any]) -> str:
    """`values` (dotted keys) as the preset `tuned-STUDY` of params.yaml (appended: its comments stay); its name.
    `stockflow run --preset tuned-STUDY` alone then makes the best trial's run."""
    import yaml

    path = ws.params_file
    preset = tuning.as_preset(values)
    existing = (yaml.safe_load(path.read_text()) or {}).get("presets") or {}
    name = f"tuned-{study_name}"
    if name in existing and existing[name] == preset:
        return name
    n = 2
    while name in existing:
        name, n = f"tuned-{study_name}-{n}", n + 1
    text = path.read_text()
    if "\npresets:" not in text:
        text = text.rstrip("\n") + "\n\npresets:\n"
    block = yaml.safe_dump({name: preset}, sort_keys=False, default_flow_style=None)
    text = text.rstrip("\n") + "\n" + "".join(f"  {line}\n" for line in block.splitlines())
    with contextlib.suppress(Exception):
        parsed = yaml.safe_load(text)
    if not isinstance(parsed, dict) or (parsed.get("presets") or {}).get(name) != preset:
        raise UsageError(f"{path}: the preset {name} could not be added at its end (presets: must be its last section)")
    path.write_text(text)
    return name


def summary(study: Any, target: Target, preset: str, tuned: dict, default: dict) -> str:
    """The study in a few lines: its trials, the best one's validation figure, and what the test window gave the
    tuned settings beside the default ones (and persistence); how much of the gap between validation and test is the
    search's own (selection bias: the default settings' own gap, chosen by nobody, is the yardstick)."""
    counts = pd.Series([t.state.name.lower() for t in study.get_trials(deepcopy=False)]).value_counts()
    best = study.best_trial
    shown = ", ".join(
        f"{k.rsplit('.', 1)[-1]}={v:.4g}" if isinstance(v, float) else f"{k.rsplit('.', 1)[-1]}={v}"
        for k, v in best.params.items()
    )
    lines = [
        f"study {study.study_name}: {len(study.trials)} trials ({', '.join(f'{n} {s}' for s, n in counts.items())})",
        f"  best             trial {best.number}: {shown}"
        + (" (the default settings: no trial beat them on validation)" if best.user_attrs.get("incumbent") else ""),
    ]
    lines += target.subject.kind.study.lines(best, tuned, default)
    lines += [
        f"  preset           {preset}: `stockflow run --preset {preset}`, `dvc exp run -S preset={preset}`",
        f"  gate             tuned: {_verdict(tuned)}",
        f"                   default: {_verdict(default)}",
    ]
    return "\n".join(lines)


def _verdict(results: dict) -> str:
    gate = results.get(kinds.kind(results["kind"]).stages[-1].name) or {}
    return f"{'promoted' if gate.get('promote') else 'not promoted'} v{gate.get('version')}: {gate.get('reason')}"


def study_name_for(target: Target) -> str:
    return f"{target.subject.name}-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}"
