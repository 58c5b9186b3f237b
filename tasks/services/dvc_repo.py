"""DVC, behind one module: the recorded data version, the pipeline's lock file, and experiments.

- `record_data` makes `data.dvc` name what is in data/, but only when every file
  that differs from the recorded version was validated: bad data never becomes
  the recorded version, whoever asks.
- `publish` puts a flow execution's outputs where `dvc.yaml` expects them and
  records them in `dvc.lock` (DVC's `commit`), so after `stockflow run` the
  pipeline is up to date and `dvc repro` has nothing to do.
- The rest reads what DVC tells a stage it runs: the experiment's name and
  baseline, and which stages the current `dvc repro` ran (to say which it reused).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from tasks.services.workspace import Workspace, md5

if TYPE_CHECKING:
    from tasks.kinds import Subject

SESSIONS = Path(".stockflow") / "dvc-sessions"


def is_repo(root: Path) -> bool:
    """Whether `root` is a DVC repository (has .dvc/)."""
    return (root / ".dvc").is_dir()


@contextmanager
def locked_repo(root: Path) -> Iterator[Any]:
    """DVC's repository, holding its lock (waiting for it if `dvc repro` or another run has it)."""
    from dvc.repo import Repo, lock_repo

    with Repo(str(root), _wait_for_lock=True) as repo, lock_repo(repo):
        repo.scm_context.quiet = True  # no "To track the changes with git, run: ..." hints on the terminal
        yield repo


def data_version(root: Path) -> str:
    """The md5 that data.dvc records for data/, or `untracked`."""
    path = root / "data.dvc"
    if not path.is_file():
        return "untracked"
    outs = (yaml.safe_load(path.read_text()) or {}).get("outs") or [{}]
    return str(outs[0].get("md5", "unknown")).removesuffix(".dir")


def _recorded_files(root: Path) -> dict[str, str] | None:
    """relpath -> md5 of the files data.dvc records, from DVC's cache; None when the cache does not hold them."""
    digest = data_version(root)
    listing = root / ".dvc" / "cache" / "files" / "md5" / digest[:2] / f"{digest[2:]}.dir"
    if not listing.is_file():
        return None
    return {entry["relpath"]: entry["md5"] for entry in json.loads(listing.read_text())}


def unvalidated_changes(root: Path, validated: dict[str, str]) -> list[str]:
    """Files of data/ that differ from the recorded version and were not validated as they are now."""
    data = root / "data"
    current = {p.relative_to(data).as_posix(): md5(p) for p in sorted(data.rglob("*")) if p.is_file()} \
        if data.is_dir() else {}  # fmt: skip
    recorded = _recorded_files(root)
    changed = [name for name, digest in current.items() if recorded is None or recorded.get(name) != digest]
    removed = [name for name in (recorded or {}) if name not in current]
    return removed + [name for name in changed if validated.get(name) != current[name]]


def record_data(root: Path, validated: dict[str, str]) -> str | None:
    """Make data.dvc describe data/ (`dvc add data`) if every changed file is in `validated` (name -> md5), and
    remember it as the last validated version.

    Returns the recorded version, or None when an unvalidated change kept it from being recorded.
    """
    if not is_repo(root):
        return None
    with locked_repo(root) as repo:
        if unvalidated_changes(root, validated):
            return None
        if _recorded_files(root) is None or any(
            _recorded_files(root).get(name) != digest for name, digest in validated.items()
        ):
            repo.add(str(root / "data"))
    remember_validated_data_version(root)
    return data_version(root)


_VALIDATED = Path(".stockflow") / "data.dvc.validated"


def remember_validated_data_version(root: Path) -> None:
    """Keep data.dvc as it describes validated data, to restore if `dvc repro` adopts data that then fails."""
    source = root / "data.dvc"
    if source.is_file():
        (root / _VALIDATED).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, root / _VALIDATED)


def restore_validated_data_version(root: Path) -> bool:
    """Undo `dvc repro`'s rewrite of data.dvc after a failed validation; True if something changed.

    The last validated data.dvc comes from the snapshot, else from git HEAD.
    """
    from tasks.services.provenance import git

    snapshot = root / _VALIDATED
    text = snapshot.read_text() if snapshot.is_file() else git(root, "show", "HEAD:data.dvc")
    path = root / "data.dvc"
    if not text or (path.is_file() and path.read_text() == text):
        return False
    path.write_text(text)
    return True


def why_not_publish(ws: Workspace, subject: Subject, overrides: tuple[str, ...],
                    inputs: dict[str, Any]) -> str | None:  # fmt: skip
    """Why an execution's outputs do not describe the project as it is now (then they are not published), or None.

    `inputs`: the md5s of params.yaml (`params`) and of each price file (`files`) when the execution began, and the
    code's fingerprint (`code`).
    """
    from tasks.services.provenance import code_fingerprint

    root = ws.root
    if overrides:
        return "settings were overridden for this run (--set / --preset)"
    if not is_repo(root):
        return "the project is not a DVC repository"
    if subject.name not in pipeline(root, subject.kind.listing):
        return f"{subject.name} is not in params.yaml's data.{subject.kind.listing}"
    if md5(ws.params_file) != inputs["params"]:
        return "params.yaml changed during the run"
    if changed_file(ws, inputs["files"]):
        return f"data/{changed_file(ws, inputs['files'])}.csv changed during the run"
    if code_fingerprint(subject.names) != inputs["code"]:
        return "the code changed during the run"
    return None


def changed_file(ws: Workspace, files: dict[str, str]) -> str | None:
    """The first ticker whose project file is no longer the one an execution snapshotted (`files`: ticker -> md5)."""
    return next((t for t, digest in files.items() if md5(ws.project_data_file(t)) != digest), None)


def publish(ws: Workspace, subject: Subject) -> None:
    """Move a private workspace's outputs of a ticker (or universe) into the project and record them in dvc.lock.

    DVC's Python API assumes the current folder is the repository, which a process
    running several executions cannot promise; so this runs in a short child process there.
    """
    layout = json.dumps({"headline": subject.registered, "stages": {s.name: list(s.writes) for s in subject.stages}})
    out = subprocess.run(
        [sys.executable, "-m", "tasks.services.dvc_repo", "publish", str(ws.work), subject.name, layout],
        cwd=ws.root, capture_output=True, text=True,
    )  # fmt: skip
    if out.returncode != 0:
        raise RuntimeError(f"publishing {subject.name}'s outputs to DVC failed: {out.stderr.strip()[-2000:]}")


def _publish_here(work: Path, name: str, layout: str) -> None:
    """In the project folder, under DVC's lock: move the outputs in, then `dvc commit -f` the subject's stages.
    `layout` (JSON): each stage's files, by stage, and the name of the headline file (the subject's registry key)."""
    project = Workspace.project(Path.cwd())
    private = Workspace(project.root, work)
    said = json.loads(layout)
    stages, key = said["stages"], said["headline"]
    with locked_repo(project.root) as repo:
        for stage, writes in stages.items():
            target = project.stage_dir(name, stage)
            target.mkdir(parents=True, exist_ok=True)
            for written in writes:
                os.replace(private.stage_dir(name, stage) / written, target / written)
        headline = project.headline_file(key)
        headline.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(private.headline_file(key), headline)
        _commit_stages(repo, [f"{stage}@{name}" for stage in stages])


def _commit_stages(repo: Any, names: list[str]) -> None:
    """What `repo.commit(name, force=True)` does for each stage, with dvc.yaml and dvc.lock read once and written once.

    One `commit` per stage re-reads and rewrites both files each time: about 1 s of YAML per stage on dvc.lock's
    size here, 5 of the 6 s a run spent publishing. (Not `with_deps`: that would commit data.dvc too, and only
    validated data may become the recorded version.)
    """
    from dvc.dvcfile import load_file

    dvcfile = load_file(repo, os.path.join(repo.root_dir, "dvc.yaml"))
    stages = [dvcfile.stages[name] for name in names]
    for stage in stages:
        stage.save()
        stage.commit()
    dvcfile.dump_stages(stages, update_pipeline=False)


def pull(repo: Path, target: str) -> bool:
    """`dvc pull` of `target` in `repo`, through its cache and remotes; whether it got the files."""
    return _dvc(repo, "pull", "--quiet", target).returncode == 0


def remotes(repo: Path) -> dict[str, str]:
    """The repository's DVC remotes, name -> URL."""
    words = _dvc(repo, "remote", "list").stdout.split()
    return dict(zip(words[::2], words[1::2], strict=False))


def _dvc(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dvc", *args], cwd=cwd, capture_output=True, text=True)


def share_config(root: Path, other: Path) -> None:
    """`other` (a worktree of `root`'s clone) sees `root`'s DVC remotes and cache as they are now."""
    from configobj import ConfigObj

    merged = ConfigObj()
    for name in ("config", "config.local"):
        if (root / ".dvc" / name).is_file():
            merged.merge(ConfigObj(str(root / ".dvc" / name)))
    for section, values in merged.items():  # paths in a config file are relative to its folder
        key = "url" if section.startswith("remote ") else "dir" if section == "cache" else None
        if key and key in values and "://" not in values[key] and not os.path.isabs(values[key]):
            values[key] = str((root / ".dvc" / values[key]).resolve())
    merged.setdefault("cache", {}).setdefault("dir", str(root / ".dvc" / "cache"))
    merged.filename = str(other / ".dvc" / "config.local")
    merged.write()


def pipeline(root: Path, listing: str = "tickers") -> tuple[str, ...]:
    """What `dvc.yaml` iterates over: params.yaml's data.tickers, or another kind's `listing` (data.universes)."""
    from tasks.services.workspace import read_params_file

    return tuple((read_params_file(root / "params.yaml").get("data") or {}).get(listing) or ())


def experiment() -> dict[str, str]:
    """Tags for a `dvc exp run`: the experiment's name and its baseline commit (empty outside experiments)."""
    from tasks.services import tracking

    tags = {}
    if os.environ.get("DVC_EXP_NAME"):
        tags[tracking.DVC_EXP] = os.environ["DVC_EXP_NAME"]
    if os.environ.get("DVC_EXP_BASELINE_REV"):
        tags[tracking.DVC_BASELINE] = os.environ["DVC_EXP_BASELINE_REV"]
    return tags


def _session_file(root: Path) -> Path | None:
    """A file named after the `dvc` process running this stage (stages of one repro share it)."""
    import psutil

    try:
        process = psutil.Process().parent()
        while process is not None:
            words = [Path(w).name for w in process.cmdline()]
            if "dvc" in words or ("-m" in words and "dvc" in words[words.index("-m") + 1 :][:1]):
                return root / SESSIONS / f"{process.pid}-{int(process.create_time())}.json"
            process = process.parent()
    except (psutil.Error, OSError):
        return None
    return None


def note_stage_ran(root: Path, stage: str, ticker: str, seconds: float) -> None:
    """Remember that `stage` ran for `ticker` (was not skipped or restored) in the current `dvc repro`, and how long
    it took."""
    path = _session_file(root)
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    ran = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**ran, f"{stage}@{ticker}": seconds}))


def stages_ran(root: Path, ticker: str) -> dict[str, float] | None:
    """The stages the current `dvc repro` ran so far for `ticker`, with their seconds, or None when that cannot be
    told."""
    path = _session_file(root)
    if path is None:
        return None
    ran = json.loads(path.read_text()) if path.is_file() else {}
    return {key.split("@")[0]: seconds for key, seconds in ran.items() if key.split("@", 1)[1] == ticker}


if __name__ == "__main__":  # python -m tasks.services.dvc_repo publish WORK NAME LAYOUT (see `publish`)
    from tasks.services.process import quiet

    quiet()
    _publish_here(Path(sys.argv[2]), sys.argv[3], sys.argv[4])
