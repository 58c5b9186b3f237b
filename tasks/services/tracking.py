"""MLflow, behind one module: the store, runs and their vocabulary, the Model Registry.

Nothing else in stockflow imports `mlflow`, except the registered pyfunc model
(`tasks/services/serving_model.py`), which MLflow loads on its own.

A run belongs to the one process that created it: it is created RUNNING with its
params and provenance, logged into by that process only, and ended once, FINISHED
or FAILED. A run whose process died (kill -9, power cut) is marked FAILED by the
next execution on the same host (`fail_dead_runs`).
"""

from __future__ import annotations

import contextlib
import functools
import os
import time
from pathlib import Path
from typing import Any

import pandas as pd

from tasks.services.process import host, process_started

# Run statuses.
RUNNING, FINISHED, FAILED = "RUNNING", "FINISHED", "FAILED"

# Tags: MLflow's own, then stockflow's.
RUN_NAME, PARENT, NOTE, SOURCE = "mlflow.runName", "mlflow.parentRunId", "mlflow.note.content", "mlflow.source.name"
GIT_COMMIT = "mlflow.source.git.commit"
GIT_DIRTY = "stockflow.git_dirty"
TICKER, PRESET, SETTINGS, TRIGGER = "stockflow.ticker", "stockflow.preset", "stockflow.settings", "stockflow.trigger"
UNIVERSE, TICKERS = "stockflow.universe", "stockflow.tickers"  # a universe's run: its name and its tickers
DATA_VERSION, DATA_FILE_MD5 = "stockflow.data_version", "stockflow.data_file_md5"
MODEL_KEY, MODEL_VERSION = "stockflow.model_key", "stockflow.model_version"
PROMOTION, FAILURE = "stockflow.champion.promotion", "stockflow.failure"
HOST, PID, PID_STARTED = "stockflow.host", "stockflow.pid", "stockflow.pid_started"
WORKSPACE, STAGES_REUSED = "stockflow.workspace", "stockflow.stages_reused"
AS_OF, WATCHLIST = "stockflow.as_of", "stockflow.reporting.watchlist"
PREFECT_RUN, PREFECT_URL = "prefect.flow_run_id", "prefect.flow_run_url"
DVC_EXP, DVC_BASELINE = "dvc.experiment", "dvc.baseline_rev"
TRAINED_AT, GATE = "stockflow.trained_at", "stockflow.gate"
KIND, MONITOR = "stockflow.kind", "monitor"  # a monitor check's run; training runs carry no kind
# On a registered version: what it was trained and judged on (its live days start after DATA_THROUGH) ...
DATA_THROUGH, TRAIN_WINDOW, TEST_WINDOW = "stockflow.data_through", "stockflow.train_window", "stockflow.test_window"
TEST_MAE_RATIO = "stockflow.test_mae_ratio"
TEST_RANK_IC = "stockflow.test_rank_ic"  # a universe's version: its mean daily Rank IC on its test window
TEST_COVERAGE = "stockflow.test_coverage"
INTERVAL_LEVEL = "stockflow.interval_level"  # read from versions registered before the forecaster carried its level
# ... and what the last monitor check said of it.
MONITOR_VERDICT, MONITOR_RATIO, MONITOR_AT = "monitor.verdict", "monitor.live_mae_ratio", "monitor.checked_at"
MONITOR_RUN, MONITOR_ALARMED, MONITOR_ALARMS = "monitor.run_id", "monitor.alarmed_on", "monitor.alarms_raised"
ALARM_REASON, ALARM_RUN = "stockflow.alarm_reason", "stockflow.alarm_monitor_run"

CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_ARTIFACT = "model"


def store_uri(root: Path) -> str:
    """$MLFLOW_TRACKING_URI, else the project's sqlite store.

    A queued DVC experiment runs in a copy of the project under .dvc/tmp/exps; DVC
    names the real project in $DVC_ROOT, and the run belongs in its store.
    """
    uri = os.environ.get("MLFLOW_TRACKING_URI")
    if uri:
        return uri
    home = Path(os.environ.get("DVC_ROOT") or root).resolve() / "mlruns"
    home.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{home / 'mlflow.db'}"


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """A tracking server (http or https) must answer `/health` before anything runs; TrackingError if not.

    MLflow's own client would retry a dead server for minutes and then fail somewhere in the middle of a run;
    a run that cannot be recorded must not train.
    """
    if not uri.startswith(("http://", "https://")):
        return
    import urllib.error
    import urllib.request

    from stockflow.errors import TrackingError

    try:
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=timeout):
            return
    except (OSError, ValueError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise TrackingError(
            f"the MLflow tracking server {uri} does not answer ({reason}): start it, or unset MLFLOW_TRACKING_URI "
            "to record in this project's own store (mlruns/). Nothing was run."
        ) from None


def wait_until_reachable(uri: str, wait_s: float, poll_s: float = 2.0) -> None:
    """Return once the tracking server answers, polling for at most `wait_s` seconds; TrackingError if it never does.

    A run whose stages are done waits here instead of failing at its first MLflow call: a server restarted
    within the bound costs nothing but the wait.
    """
    from stockflow.errors import TrackingError

    deadline = time.monotonic() + wait_s
    while True:
        try:
            return check_reachable(uri, timeout=max(1.0, min(5.0, deadline - time.monotonic())))
        except TrackingError:
            if time.monotonic() >= deadline:
                raise
        time.sleep(poll_s)


def model_name(ticker: str) -> str:
    """The registered model of a ticker: `stockflow-<ticker>` (of a universe: `stockflow-universe-<name>`, its
    registry key being `universe-<name>`)."""
    return f"stockflow-{ticker}"


def subject_tags(name: str, tickers: tuple[str, ...] | None) -> dict[str, str]:
    """What a run is of: a ticker (`stockflow.ticker`), or a universe and its tickers."""
    return {TICKER: name} if tickers is None else {UNIVERSE: name, TICKERS: ",".join(tickers)}


class Store:
    """An MLflow store seen across its experiments, for commands that start from a run's id (`reproduce`)."""

    def __init__(self, uri: str):
        from mlflow import MlflowClient

        check_reachable(uri)
        self.uri, self.client = uri, MlflowClient(uri)

    def run(self, run_id: str) -> Any | None:
        """The run, or None when the store has no run of that id."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_run(run_id)
        except MlflowException:
            return None

    def artifacts(self, run_id: str) -> frozenset[str]:
        """The paths of the run's top-level artifacts."""
        return frozenset(a.path for a in self.client.list_artifacts(run_id))

    def download(self, run_id: str, path: str, folder: str) -> str:
        """One artifact of the run into `folder`; its local path."""
        return self.client.download_artifacts(run_id, path, folder)

    def newest_named(self, experiment_id: str, name: str, since_ms: int) -> Any | None:
        """The newest run of that name in the experiment started at or after `since_ms`, if any."""
        found = self.client.search_runs(
            [experiment_id],
            filter_string=f"attributes.run_name = '{name}' and attributes.start_time >= {since_ms}",
            order_by=["attributes.start_time DESC"],
            max_results=1,
        )
        return found[0] if found else None

    def set_tag(self, run_id: str, key: str, value: str) -> None:
        self.client.set_tag(run_id, key, value)


def tracker_for(root: Path, params: Any) -> Tracker:
    """The Tracker of the project's experiment (`mlflow.experiment`): one per store and experiment in a process
    (it holds a database connection pool)."""
    return _tracker(store_uri(root), str(root), params.mlflow.experiment)


def monitor_tracker_for(root: Path, params: Any) -> Tracker:
    """The monitor checks' experiment (`<experiment>-monitor`): apart from training runs, in the same store."""
    return _tracker(store_uri(root), str(root), f"{params.mlflow.experiment}-{MONITOR}")


@functools.lru_cache(maxsize=8)
def _tracker(uri: str, root: str, experiment: str) -> Tracker:
    return Tracker(Path(root), experiment)


class Tracker:
    """One MLflow store and experiment, seen through runs and registered models, never the fluent global state."""

    def __init__(self, root: Path, experiment: str):
        import mlflow
        from mlflow import MlflowClient

        self.uri = store_uri(root)
        check_reachable(self.uri)
        given = os.environ.get("MLFLOW_TRACKING_URI")
        mlflow.set_tracking_uri(self.uri)  # for the fluent calls at the end of a run and for `models:/` URIs
        # ... which MLflow also writes into os.environ, where `store_uri` would then find it for every other
        # project this process opens: the environment stays as the user set it.
        if given is None:
            os.environ.pop("MLFLOW_TRACKING_URI", None)
        else:
            os.environ["MLFLOW_TRACKING_URI"] = given
        with _first_use_lock(self.uri):  # the client creates (and migrates) a new store's schema
            self.client = MlflowClient(self.uri)
            self.experiment_id = self._experiment(experiment)

    def _experiment(self, name: str) -> str:
        from mlflow.exceptions import MlflowException

        found = self.client.get_experiment_by_name(name)
        if found is not None:
            return found.experiment_id
        # Artifacts beside a sqlite database (mlruns/artifacts); a server decides for itself.
        location = None
        if self.uri.startswith("sqlite:"):
            location = (Path(self.uri.removeprefix("sqlite:///")).parent / "artifacts").as_uri()
        try:
            return self.client.create_experiment(
                name,
                artifact_location=location,
                # Open on the runs table (model training), not on the GenAI overview.
                tags={"mlflow.experimentKind": "custom_model_development", NOTE: _experiment_note(name)},
            )  # fmt: skip
        except MlflowException:  # another process created it a moment ago
            return self.client.get_experiment_by_name(name).experiment_id

    # --- runs ---------------------------------------------------------------------------------------------------

    def open_run(self, name: str, params: dict[str, Any], tags: dict[str, str], parent: str | None = None) -> str:
        """A new RUNNING run owned by this process, with every param and its provenance tags."""
        from mlflow.entities import Param

        owner = {HOST: host(), PID: str(os.getpid()), PID_STARTED: str(process_started(os.getpid())),
                 SOURCE: f"stockflow {tags.get(TRIGGER, 'run')}"}  # fmt: skip
        all_tags = {**owner, **tags, RUN_NAME: name, **({PARENT: parent} if parent else {})}
        run = self.client.create_run(self.experiment_id, tags=all_tags, run_name=name)
        items = [Param(k, str(v)[:6000]) for k, v in sorted(params.items())]
        for i in range(0, len(items), 100):
            self.client.log_batch(run.info.run_id, params=items[i : i + 100])
        return run.info.run_id

    def log_metrics(self, run_id: str, metrics: dict[str, Any], step: int = 0) -> None:
        """Numbers only; non-finite values are skipped, not faked."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [Metric(k, float(v), now, step) for k, v in metrics.items() if _finite(v)]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i : i + 1000])

    def log_curves(self, run_id: str, curves: pd.DataFrame, names: dict[str, str]) -> None:
        """Per-epoch metrics: column -> metric name, stepped by the `epoch` column."""
        from mlflow.entities import Metric

        now = int(time.time() * 1000)
        batch = [
            Metric(metric, float(row[column]), now, int(row["epoch"]))
            for _, row in curves.iterrows()
            for column, metric in names.items()
            if column in curves and _finite(row[column])
        ]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i : i + 1000])

    def log_series(self, run_id: str, series: dict[str, Any], timestamps: Any) -> None:
        """Stepped metrics, one step per element (1, 2, ...), each stamped with its own time (a day, in ms)."""
        from mlflow.entities import Metric

        stamps = [int(t) for t in timestamps]
        batch = [
            Metric(name, float(v), stamps[i], i + 1)
            for name, values in series.items()
            for i, v in enumerate(values)
            if _finite(float(v))
        ]
        for i in range(0, len(batch), 1000):
            self.client.log_batch(run_id, metrics=batch[i : i + 1000])

    def log_dataset(self, run_id: str, prices_file: Path, ticker: str, digest: str, version: str,
                    context: str = "training") -> None:  # fmt: skip
        """The price data a run used, as an MLflow dataset: the runs table's *Dataset* column and the run's page.

        Name: the ticker; digest: the md5 of the ticker's file (its exact bytes; the folder's DVC version moves
        when another ticker's file changes); source: `data/<ticker>.csv@<DVC data version>`.
        """
        import mlflow.data
        from mlflow.entities import DatasetInput, InputTag

        frame = pd.read_csv(prices_file)
        dataset = mlflow.data.from_pandas(frame, source=f"data/{ticker}.csv@{version}", name=ticker, digest=digest)
        self.client.log_inputs(
            run_id,
            datasets=[DatasetInput(dataset._to_mlflow_entity(), tags=[InputTag("mlflow.data.context", context)])],
        )

    def log_file(self, run_id: str, path: Path, folder: str | None = None) -> None:
        self.client.log_artifact(run_id, str(path), artifact_path=folder)

    def log_text(self, run_id: str, text: str, name: str) -> None:
        self.client.log_text(run_id, text, name)

    def set_tags(self, run_id: str, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_tag(run_id, key, str(value)[:5000])

    def finish(self, run_id: str, failure: str | None = None) -> None:
        """End the run once: FINISHED, or FAILED with the reason in `stockflow.failure`."""
        if failure is not None:
            self.client.set_tag(run_id, FAILURE, failure[:4000])
        self.client.set_terminated(run_id, status=FAILED if failure is not None else FINISHED)

    def reopen(self, run_id: str) -> None:
        """RUNNING again, without a failure (a run recorded late, after another run marked it FAILED meanwhile)."""
        if FAILURE in self.client.get_run(run_id).data.tags:
            self.client.delete_tag(run_id, FAILURE)
        self.client.update_run(run_id, status=RUNNING)

    def fail_dead_runs(self, unrecorded: dict[str, str] | None = None) -> list[str]:
        """Mark FAILED the RUNNING runs of this host whose process is gone (kill -9, crash); their ids.

        `unrecorded`: run id -> why, for runs whose process ended while the server was down and whose
        outputs wait to be recorded (`stockflow record`): they are FAILED until then, saying so.
        """
        here, dead, unrecorded = host(), [], unrecorded or {}
        for run in self.client.search_runs(
            [self.experiment_id], filter_string=f"attributes.status = '{RUNNING}'", max_results=200
        ):
            tags = run.data.tags
            if tags.get(HOST) != here or not tags.get(PID, "").isdigit():
                continue
            started = process_started(int(tags[PID]))
            if started is not None and str(started) == tags.get(PID_STARTED):
                continue  # still running
            killed = f"process {tags[PID]} on {here} ended without finishing the run (killed)"
            self.finish(run.info.run_id, unrecorded.get(run.info.run_id, killed))
            dead.append(run.info.run_id)
        return dead

    def get_run(self, run_id: str) -> Any:
        return self.client.get_run(run_id)

    def recent_runs(self, ticker: str, limit: int) -> list[Any]:
        """The newest top-level runs of `ticker`, newest first."""
        found, token = [], None
        while len(found) < limit:  # page on: a study's trials or checks of the same ticker may come first
            page = self.client.search_runs([self.experiment_id], filter_string=f"tags.`{TICKER}` = '{ticker}'",
                                           order_by=["attributes.start_time DESC"], max_results=max(limit * 3, 50),
                                           page_token=token)  # fmt: skip
            found += [r for r in page if AS_OF not in r.data.tags and KIND not in r.data.tags]
            token = page.token
            if not token:
                break
        return found[:limit]

    def run_url(self, run_id: str) -> str:
        """Where a person sees the run: the tracking server's page, or `stockflow ui`'s (in its model-training view)."""
        return f"{self.experiment_url()}/runs/{run_id}?workflowType=machine_learning"

    def experiment_url(self, port: int = 5000) -> str:
        """The experiment's page: the tracking server's, or `stockflow ui`'s on `port`."""
        base = self.uri.rstrip("/") if self.uri.startswith("http") else f"http://127.0.0.1:{port}"
        return f"{base}/#/experiments/{self.experiment_id}"

    # --- the model, logged and registered --------------------------------------------------------------------

    def log_forecaster(self, run_id: str, forecaster_file: Path, settings: dict, meta: dict) -> None:
        """Log the self-contained pyfunc forecaster (the forecaster's one file, its signal rule, the code) into
        the run; its metadata names its architecture, lookback and features (read from the file) and `meta`."""
        import json
        import tempfile

        from stockflow.ticker.forecaster import manifest

        about = manifest(Path(forecaster_file).read_bytes())
        meta = {**{k: about[k] for k in ("architecture", "lookback", "features")}, **meta}
        with tempfile.TemporaryDirectory() as tmp:
            settings_file = Path(tmp) / "settings.json"
            settings_file.write_text(json.dumps(settings))
            artifacts = {"forecaster": forecaster_file, "settings": settings_file}
            self._log_pyfunc(run_id, "serving_model.py", artifacts, _signature(), meta, about["architecture"])

    def log_ranker(self, run_id: str, ranker_file: Path, meta: dict) -> None:
        """Log a universe's self-contained pyfunc ranker (its one file, the code) into the run; its metadata names its
        architecture, lookback, tickers and portfolio rules (read from the file) and `meta`."""
        from stockflow.universe.ranker import manifest

        about = manifest(Path(ranker_file).read_bytes())
        meta = {**{k: about[k] for k in ("architecture", "lookback", "tickers", "rules")}, **meta}
        self._log_pyfunc(run_id, "serving_universe.py", {"ranker": ranker_file}, _universe_signature(), meta,
                         about["architecture"])  # fmt: skip

    def _log_pyfunc(self, run_id: str, code: str, artifacts: dict[str, Path], signature: Any, meta: dict,
                    architecture: str) -> None:  # fmt: skip
        """MLflow logs models into the active run only; the run is made active for this call and left active, so
        the run's last step (`end`) closes it with its true status. Its pip requirements: every model's, and its
        family's own."""
        from importlib.metadata import version

        import mlflow

        import stockflow
        from stockflow import models

        needed = models.requirements(architecture)  # a fresh environment's, to load and serve it

        if mlflow.active_run() is None or mlflow.active_run().info.run_id != run_id:
            mlflow.start_run(run_id=run_id)
        mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(Path(__file__).with_name(code)),
            artifacts={key: str(path) for key, path in artifacts.items()},
            code_paths=[str(Path(stockflow.__file__).parent)],
            signature=signature,
            pip_requirements=[f"{name}=={version(name)}" for name in needed],
            metadata=meta,
        )

    def end(self, run_id: str, failure: str | None = None) -> None:
        """`finish`, closing the run first if it is the active one (after `log_forecaster`)."""
        import mlflow

        active = mlflow.active_run()
        if active is not None and active.info.run_id == run_id:
            if failure is not None:
                self.client.set_tag(run_id, FAILURE, failure[:4000])
            mlflow.end_run(status=FAILED if failure is not None else FINISHED)
        else:
            self.finish(run_id, failure)

    def champion(self, ticker: str) -> Any | None:
        """The champion's ModelVersion, or None when there is none yet."""
        from mlflow.exceptions import MlflowException

        try:
            return self.client.get_model_version_by_alias(model_name(ticker), CHAMPION)
        except MlflowException:
            return None

    def version_with_key(self, ticker: str, key: str) -> Any | None:
        """The registered version made from the same data, model settings and code, if any (the oldest)."""
        from mlflow.exceptions import MlflowException

        try:
            found = self.client.search_model_versions(
                f"name = '{model_name(ticker)}' AND tags.`{MODEL_KEY}` = '{key}'", max_results=100
            )
        except MlflowException:
            return None
        return min(found, key=lambda v: int(v.version)) if found else None

    def register(self, run_id: str, ticker: str, tags: dict[str, str]) -> Any:
        """A new version from the run's logged model, tagged; no alias moves here."""
        import mlflow
        from mlflow.exceptions import MlflowException

        logged = mlflow.search_logged_models(
            experiment_ids=[self.experiment_id],
            filter_string=f"source_run_id = '{run_id}' AND name = '{MODEL_ARTIFACT}'",
            output_format="list",
        )
        if not logged:
            raise RuntimeError(f"run {run_id} has no logged model to register")
        newest = max(logged, key=lambda m: m.creation_timestamp)
        name = model_name(ticker)
        if not self.client.search_registered_models(filter_string=f"name = '{name}'"):
            with contextlib.suppress(MlflowException):  # created meanwhile by another process: fine
                self.client.create_registered_model(name, description=f"stockflow's model of {ticker}")
        # The model id is what a tracking server needs to accept a `models:/` source.
        return self.client.create_model_version(name, newest.model_uri, run_id=run_id, tags=tags,
                                                model_id=newest.model_id)  # fmt: skip

    def move_alias(self, ticker: str, alias: str, version: str | int) -> None:
        self.client.set_registered_model_alias(model_name(ticker), alias, str(version))

    def aliases(self, ticker: str) -> dict[str, str]:
        from mlflow.exceptions import MlflowException

        try:
            return {k: str(v) for k, v in self.client.get_registered_model(model_name(ticker)).aliases.items()}
        except MlflowException:
            return {}

    def version_tags(self, ticker: str, version: str | int) -> dict[str, str]:
        return dict(self.client.get_model_version(model_name(ticker), str(version)).tags)

    def set_version_tags(self, ticker: str, version: str | int, tags: dict[str, Any]) -> None:
        for key, value in tags.items():
            self.client.set_model_version_tag(model_name(ticker), str(version), key, str(value))

    def version_run_id(self, ticker: str, version: str | int) -> str | None:
        return self.client.get_model_version(model_name(ticker), str(version)).run_id

    def load_version(self, ticker: str, version: str | int) -> Any:
        import mlflow

        return mlflow.pyfunc.load_model(f"models:/{model_name(ticker)}/{version}")


def _experiment_note(name: str) -> str:
    """What an experiment holds, as its description in the UI."""
    if name.endswith(f"-{MONITOR}"):
        return ("stockflow monitor: one run per check of a champion on the days it has met since it was trained. "
                "Monitor/live_mae_ratio, Monitor/cum_error_vs_persistence and Monitor/cusum are stepped per live "
                "day (the champion ageing); drift/ holds the inputs' PSI and KS; live/ the strategy on those days. "
                "docs/monitoring.md explains each figure.")  # fmt: skip
    return ("stockflow: one run per pipeline execution. The headline figures are under Headline/, the per-epoch "
            "losses under Loss/, the detail under each stage's name (evaluate/..., backtest/...). `stockflow runs` "
            "shows the same in a terminal.")  # fmt: skip


def _first_use_lock(uri: str) -> Any:
    """Serialise the first connection to a sqlite store: a new store's schema migrations must not race."""
    from filelock import FileLock

    if not uri.startswith("sqlite:///"):
        return contextlib.nullcontext()
    return FileLock(uri.removeprefix("sqlite:///") + ".lock")


def _finite(value: Any) -> bool:
    import math

    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _universe_signature():
    """Rows of every ticker as people read them, with a Ticker column; out, per date and ticker, the score and the
    portfolio's target weight for the next session."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    inputs = Schema([ColSpec(AnyType(), "Date"), ColSpec(AnyType(), "Ticker"), ColSpec(AnyType(), "Close"),
                     *(ColSpec(AnyType(), c, required=False) for c in ("Open", "High", "Low", "Volume"))])  # fmt: skip
    outputs = Schema([ColSpec("datetime", "date"), ColSpec("string", "ticker"), ColSpec("double", "score"),
                      ColSpec("double", "weight")])  # fmt: skip
    return ModelSignature(inputs=inputs, outputs=outputs)


def _signature():
    """Raw rows as people read them: Date as a string or a date, prices and Volume as any number."""
    from mlflow.models import ModelSignature
    from mlflow.types.schema import AnyType, ColSpec, Schema

    inputs = Schema([ColSpec(AnyType(), name) for name in ("Date", "Open", "High", "Low", "Close", "Volume")])
    outputs = Schema(
        [ColSpec("datetime", "date"), ColSpec("double", "close"), ColSpec("double", "forecast"),
         ColSpec("double", "expected_return"), ColSpec("long", "signal"), ColSpec("double", "lower"),
         ColSpec("double", "upper"), ColSpec("double", "level")]
    )  # fmt: skip
    return ModelSignature(inputs=inputs, outputs=outputs)
