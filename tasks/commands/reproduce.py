"""`stockflow reproduce RUN_ID`: a run made again from its MLflow record alone, in a workspace of its own.

A training run records its code (a git commit, and `code.diff` when the tree differed
from it), its data (the DVC version of data/ and the md5 of the ticker's file) and its
settings (the `params.yaml` artifact: the file as the run read it, its `--set`s applied).
From those, in this clone:

1. the commit is checked out as a git worktree under `.stockflow/reproduce/`, and the
   run's code.diff applied;
2. the run's params.yaml goes in, and a data.dvc naming the recorded data version,
   which `dvc pull` fetches from this clone's DVC cache or remotes;
3. `stockflow run` runs there, with that commit's code, recording to this clone's
   MLflow store (the same server, for a team), tagged `stockflow.reproduces`;
4. the recorded and the new headline figures are printed side by side.

A reproduction that comes out equal leaves nothing behind but its MLflow run (an
identical model is not registered again); one that differs or fails keeps its worktree
for a look.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from stockflow.errors import ReproduceError, UsageError
from stockflow.reporting.headline import from_mlflow, side_by_side
from tasks.kinds import TICKER, UNIVERSE, Kind
from tasks.services import dvc_repo, provenance, tracking
from tasks.services.provenance import SETTINGS_FILE
from tasks.services.workspace import md5

WORKTREES = Path(".stockflow") / "reproduce"
REPRODUCES = "stockflow.reproduces"
CODE_DIFF = "code.diff"
# Files the reproduction sets from the record itself, whatever code.diff says of them.
FROM_RECORD = ("params.yaml", "data.dvc", "dvc.lock")


@dataclass(frozen=True)
class Recorded:
    """What a finished training run recorded of what made it."""

    run_id: str
    name: str
    ticker: str  # the ticker's name, or the universe's
    experiment_id: str
    commit: str
    dirty: bool
    data_version: str  # the md5 of data/ as DVC records it
    data_md5: str  # the md5 of data/<ticker>.csv
    params: dict[str, str]
    headline: dict[str, float]
    artifacts: frozenset[str]
    tickers: tuple[str, ...] = ()  # a universe's run: its tickers (empty for a ticker's)

    @property
    def kind(self) -> Kind:
        return UNIVERSE if self.tickers else TICKER  # what its tags said it was of


@dataclass(frozen=True)
class Reproduction:
    """A run made again: where, as which MLflow run, and how its record compares with the original's."""

    original: Recorded
    run_id: str
    worktree: Path
    table: str
    first_difference: str | None  # None: every headline figure and setting is equal
    notes: tuple[str, ...]

    def to_text(self) -> str:
        o = self.original
        verdict = (
            "Reproduced: every headline figure is equal."
            if self.first_difference is None
            else f"Not reproduced: {self.first_difference}. The worktree is kept: {self.worktree}"
        )
        return "\n".join(
            [
                f"run {o.run_id} ({o.name}) made again as run {self.run_id}:",
                f"  code      commit {o.commit[:12]}{' + its code.diff' if o.dirty else ''}",
                f"  data      DVC version {o.data_version}, {o.kind.data_said(o.ticker, o.tickers)} md5 {o.data_md5}",
                *(f"  {line}" for line in self.notes),
                self.table,
                verdict,
            ]
        )


def recorded(store: tracking.Store, run_id: str) -> Recorded:
    """The record of a finished training run; ReproduceError (or UsageError) when there is nothing to make again."""
    if not re.fullmatch(r"[0-9a-f]{32}", run_id):
        raise UsageError(f"{run_id!r} is not an MLflow run id (32 hex digits, as `stockflow runs` shows them)")
    run = store.run(run_id)
    if run is None:
        raise UsageError(f"no run {run_id} in the MLflow store {store.uri}")
    tags = run.data.tags
    subject = tags.get(tracking.TICKER) or tags.get(tracking.UNIVERSE)
    if subject is None or tags.get(tracking.KIND) or tracking.AS_OF in tags:
        raise UsageError(f"run {run_id} is not the training run of a ticker or a universe (a watchlist's, a monitor "
                         "check's?)")  # fmt: skip
    if run.info.status != "FINISHED":
        raise UsageError(f"run {run_id} ended {run.info.status}: only a finished run has figures to compare")
    version = tags.get(tracking.DATA_VERSION, "")
    if not re.fullmatch(r"[0-9a-f]{32}", version):
        raise ReproduceError(
            f"run {run_id}'s data was not recorded as a DVC version ({tracking.DATA_VERSION} = {version!r}): "
            "there is nothing to fetch it by"
        )
    commit = tags.get(tracking.GIT_COMMIT, "unknown")
    if not re.fullmatch(r"[0-9a-f]{40}", commit):
        raise ReproduceError(f"run {run_id} was not made from a git commit ({commit!r}): its code cannot be had")
    return Recorded(
        run_id, tags.get(tracking.RUN_NAME, run_id), subject, run.info.experiment_id, commit,
        tags.get(tracking.GIT_DIRTY) == "true", version, tags.get(tracking.DATA_FILE_MD5, ""), dict(run.data.params),
        from_mlflow(run.data.metrics), store.artifacts(run_id),
        tuple(filter(None, tags.get(tracking.TICKERS, "").split(","))),
    )  # fmt: skip


def reproduce(root: Path, run_id: str, keep: bool = False) -> Reproduction:
    """Make run `run_id` again in a worktree of this clone (see the module's docstring); how it compares."""
    store = tracking.Store(tracking.store_uri(root))
    original = recorded(store, run_id)
    worktree = checkout(root, original, store)
    try:
        fetch_data(root, worktree, original)
    except BaseException:
        remove_worktree(root, worktree)  # nothing ran: nothing to look at
        raise
    notes = _environment(root, worktree)
    new_id = rerun(worktree, original, store)
    new = store.run(new_id)
    table, first = side_by_side(original.headline, from_mlflow(new.data.metrics))
    settings = [k for k in sorted(original.params.keys() | new.data.params.keys())
                if original.params.get(k) != new.data.params.get(k)]  # fmt: skip
    notes.append(f"settings  {len(original.params)} params, "
                 + (f"{len(settings)} differ: {', '.join(settings[:5])}" if settings else "all equal"))  # fmt: skip
    if settings and first is None:
        first = f"the settings differ ({', '.join(settings[:5])})"
    if first is None and not keep:
        remove_worktree(root, worktree)
    return Reproduction(original, new_id, worktree, table, first, tuple(notes))


def checkout(root: Path, run: Recorded, store: tracking.Store) -> Path:
    """The run's commit as a new worktree of this clone, its code.diff and params.yaml applied; the worktree."""
    if provenance.git(root, "rev-parse", "--git-dir") is None:
        raise ReproduceError(f"{root} is not a git clone: reproduce checks the run's commit out of one")
    if provenance.git(root, "cat-file", "-e", f"{run.commit}^{{commit}}") is None:
        raise ReproduceError(
            f"run {run.run_id} was made from commit {run.commit[:12]}, which this clone does not have: "
            "`git fetch` (it must have been pushed) and try again"
        )
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    worktree = root / WORKTREES / f"{run.run_id[:12]}-{stamp}-{secrets.token_hex(2)}"
    worktree.parent.mkdir(parents=True, exist_ok=True)
    out = subprocess.run(["git", "worktree", "add", "--quiet", "--detach", str(worktree), run.commit], cwd=root,
                         capture_output=True, text=True)  # fmt: skip
    if out.returncode != 0:
        raise ReproduceError(f"git worktree add failed: {out.stderr.strip()}")
    with tempfile.TemporaryDirectory() as tmp:
        has_settings = SETTINGS_FILE in run.artifacts
        if run.dirty:
            if CODE_DIFF not in run.artifacts:
                raise ReproduceError(f"run {run.run_id} differed from its commit but recorded no {CODE_DIFF}")
            diff = store.download(run.run_id, CODE_DIFF, tmp)
            skip = [f"--exclude={name}" for name in FROM_RECORD if has_settings or name != "params.yaml"]
            applied = subprocess.run(["git", "apply", "--whitespace=nowarn", *skip, diff], cwd=worktree,
                                     capture_output=True, text=True)  # fmt: skip
            if applied.returncode != 0:
                raise ReproduceError(f"the run's {CODE_DIFF} does not apply to {run.commit[:12]}: "
                                     f"{applied.stderr.strip()} (worktree kept: {worktree})")  # fmt: skip
        if has_settings:  # else: the commit's params.yaml; the settings are compared at the end either way
            shutil.copyfile(store.download(run.run_id, SETTINGS_FILE, tmp), worktree / "params.yaml")
    return worktree


def fetch_data(root: Path, worktree: Path, run: Recorded) -> None:
    """data/ at the run's version in the worktree, through this clone's DVC cache and remotes."""
    import yaml

    (worktree / "data.dvc").write_text(
        yaml.safe_dump({"outs": [{"md5": f"{run.data_version}.dir", "path": "data", "hash": "md5"}]}, sort_keys=False)
    )
    dvc_repo.share_config(root, worktree)
    if not dvc_repo.pull(worktree, "data.dvc"):
        remotes = dvc_repo.remotes(worktree)
        where = (f"on this clone's DVC remote {', '.join(remotes)} ({', '.join(remotes.values())})" if remotes
                 else "on a DVC remote: this clone has none (`dvc remote add -d NAME URL`)")  # fmt: skip
        raise ReproduceError(
            f"run {run.run_id}'s data (DVC version {run.data_version}) is neither in this clone's DVC cache nor "
            f"{where}: whoever ran it must `dvc push` it from their clone"
        )
    files = {t: worktree / "data" / f"{t}.csv" for t in run.tickers or (run.ticker,)}
    missing = [t for t, f in files.items() if not f.is_file()]
    digests = {t: md5(f) for t, f in files.items() if f.is_file()}
    read = run.kind.data_md5(run.ticker, digests) if not missing else ""
    if missing or (run.data_md5 and read != run.data_md5):
        what = run.kind.data_said(run.ticker, run.tickers)
        raise ReproduceError(f"DVC version {run.data_version} does not hold {what} as run {run.run_id} read them "
                             f"(md5 {run.data_md5})")  # fmt: skip


def _environment(root: Path, worktree: Path) -> list[str]:
    lock = "requirements.lock"
    if (root / lock).is_file() and (worktree / lock).is_file() and md5(root / lock) != md5(worktree / lock):
        return [f"note      this environment was installed from another {lock} than the run's commit pins; "
                "a figure that differs may come from a library's version"]  # fmt: skip
    return []


def rerun(worktree: Path, run: Recorded, store: tracking.Store) -> str:
    """`stockflow run` in the worktree with its own code, into the same store; the new run's id."""
    name = f"reproduce {run.run_id[:8]}: {run.name}"
    env = {k: v for k, v in os.environ.items() if k not in ("STOCKFLOW_ROOT", "DVC_ROOT")}
    env["MLFLOW_TRACKING_URI"] = store.uri
    started = int(time.time() * 1000) - 1
    # `-m flows.cli` from the worktree: its own flows/, tasks/ and stockflow/ come before this clone's install.
    which = [f"--{run.kind.name}", run.ticker]
    done = subprocess.run([sys.executable, "-m", "flows.cli", "run", *which, "--name", name], cwd=worktree, env=env)
    new = store.newest_named(run.experiment_id, name, started)
    if new is None:
        raise ReproduceError(f"the reproduction stopped before it opened a run (exit {done.returncode}); "
                             f"worktree kept: {worktree}")  # fmt: skip
    store.set_tag(new.info.run_id, REPRODUCES, run.run_id)
    if done.returncode != 0 or new.info.status != "FINISHED":
        raise ReproduceError(f"the reproduction, run {new.info.run_id}, ended {new.info.status} "
                             f"(exit {done.returncode}); worktree kept: {worktree}")  # fmt: skip
    return new.info.run_id


def remove_worktree(root: Path, worktree: Path) -> None:
    subprocess.run(["git", "worktree", "remove", "--force", str(worktree)], cwd=root, capture_output=True)
    shutil.rmtree(worktree, ignore_errors=True)
    subprocess.run(["git", "worktree", "prune"], cwd=root, capture_output=True)
