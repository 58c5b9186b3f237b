"""What made a run: the code (git commit, uncommitted diff), the data (DVC version, file hash), the settings.

Also the two identities built from them: a run's name, which says what differs
from the committed settings, and a model's key, equal for two models made from
the same data, model settings and code (so the registry never holds a copy).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path
from typing import TYPE_CHECKING

from stockflow.config import Params, changes, parse_params
from tasks.services import catalog

if TYPE_CHECKING:
    from tasks.kinds import Kind


def git(root: Path, *args: str) -> str | None:
    """A git command's output in `root`, or None when git or the repository is missing."""
    try:
        out = subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout if out.returncode == 0 else None


# What a run records apart from its code: the data's version (data.dvc, its own tag) and DVC's record of outputs.
NOT_CODE = (":(exclude)data.dvc", ":(exclude)dvc.lock", ":(exclude)metrics")


def code_version(root: Path) -> tuple[dict[str, str], str]:
    """Tags naming the commit and whether tracked files differ from it, and that difference as a diff."""
    commit = (git(root, "rev-parse", "HEAD") or "unknown").strip()
    diff = git(root, "diff", "HEAD", "--", ".", *NOT_CODE) or ""
    status = git(root, "status", "--porcelain", "--untracked-files=no", "--", ".", *NOT_CODE)
    dirty = "unknown" if status is None else str(bool(status.strip())).lower()
    return {"mlflow.source.git.commit": commit, "stockflow.git_dirty": dirty}, diff


def committed_params(root: Path, preset: str) -> Params | None:
    """The settings params.yaml holds at HEAD (the experiment's baseline under DVC), with `preset` applied."""
    import yaml

    text = git(root, "show", "HEAD:params.yaml")
    try:
        raw = yaml.safe_load(text) if text else None
        return parse_params({**raw, "preset": preset}) if isinstance(raw, dict) else None
    except Exception:  # noqa: BLE001 - a baseline that no longer parses names nothing
        return None


def describe(label: str, params: Params, root: Path, kind: Kind, limit: int = 6) -> str:
    """`sp500 paper epochs=2`: what the run is of (`universe sp20 ...`), a preset other than default, and what differs
    from the committed settings (of those its kind reads)."""
    baseline = committed_params(root, params.preset) or parse_params({"preset": "default"})
    if params.preset != "default" and baseline.preset != params.preset:
        baseline = params  # a preset HEAD does not define: name the preset, not every value in it
    diff = changes(params, baseline, kind.reads)
    words = [label] + ([params.preset] if params.preset != "default" else [])
    words += diff[:limit]
    if len(diff) > limit:
        words.append(f"+{len(diff) - limit} more")
    return " ".join(words)


def recorded_params(params: Params, kind: Kind) -> dict[str, object]:
    """The settings a run records as its MLflow params: those of its kind's pipeline (a ticker's leaves out the
    universes', a universe's the ticker's model, strategy and monitor; neither records the tuner's)."""
    return {k: v for k, v in params.flat().items() if not k.startswith("tune.") and kind.records(k)}


def run_name(settings: str) -> str:
    """A run's name: its settings described (`describe`), after the DVC experiment's name when DVC runs it."""
    import os

    exp = os.environ.get("DVC_EXP_NAME")
    return f"{exp}: {settings}" if exp else settings


SETTINGS_FILE = "params.yaml"  # the run's artifact: params.yaml as the run read it, its overrides applied


def settings_file(root: Path, overrides: list[str] | tuple[str, ...]) -> str:
    """params.yaml with `overrides` applied, as text: put in a project, it gives the run's settings with no `--set`.

    MLflow's params are flat strings (a list reads back as its repr); this file is what `stockflow reproduce` uses.
    """
    import yaml

    from stockflow.config import apply_overrides
    from tasks.services.workspace import read_params_file

    return yaml.safe_dump(apply_overrides(read_params_file(root / "params.yaml"), overrides), sort_keys=False)


def fingerprint(paths: list[Path]) -> str:
    """A short hash of files' names and contents (a missing file counts too)."""
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(str(path.name).encode())
        digest.update(path.read_bytes() if path.is_file() else b"-")
    return digest.hexdigest()[:16]


def code_fingerprint(stages: tuple[str, ...]) -> str:
    """A hash of the source files the given stages run, as `dvc.yaml` lists them."""
    files = {catalog.REPO / p for s in stages for p in catalog.code_deps(f"tasks.stages.{s}")}
    return fingerprint(sorted(files))


def model_key(data_md5: str, params: Params, kind: Kind) -> str:
    """Equal for two models made from the same price file(s), model settings (the kind's preprocess and train) and
    code."""
    payload = json.dumps({"data": data_md5, "settings": kind.model_settings(params),
                          "code": code_fingerprint(kind.model_stages)}, sort_keys=True)  # fmt: skip
    return hashlib.sha256(payload.encode()).hexdigest()[:20]
