"""Where a project's files live, and its params loaded into typed settings.

A project is a folder holding params.yaml, dvc.yaml and expectations/; every
stage works relative to it, one ticker at a time.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from stockflow.config import Params, parse_params

STAGES = ("validate", "preprocess", "train", "evaluate", "backtest", "promote")


@dataclass(frozen=True)
class Project:
    root: Path

    @classmethod
    def here(cls) -> Project:
        return cls(Path.cwd().resolve())

    @property
    def params_file(self) -> Path:
        return self.root / "params.yaml"

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    def data_file(self, ticker: str) -> Path:
        return self.data_dir / f"{ticker}.csv"

    def suite_file(self, name: str) -> Path:
        return self.root / "expectations" / f"{name}.json"

    def out_dir(self, ticker: str, stage: str) -> Path:
        return self.root / "outputs" / ticker / stage

    def metrics_file(self, ticker: str, stage: str) -> Path:
        return self.root / "metrics" / ticker / f"{stage}.json"

    def run_file(self, ticker: str) -> Path:
        """The MLflow run that `dvc repro` stages of this ticker log into."""
        return self.root / "outputs" / ticker / "mlflow_run.json"

    def load_params(self, overrides: list[str] | tuple[str, ...] = ()) -> Params:
        raw = yaml.safe_load(self.params_file.read_text()) if self.params_file.exists() else {}
        return parse_params(raw, overrides)

    def load_suite(self, name: str) -> dict[str, Any]:
        path = self.suite_file(name)
        if not path.exists():
            raise FileNotFoundError(f"expectation suite {name!r} not found at {path}")
        return json.loads(path.read_text())


def write_json(path: Path, payload: Any) -> None:
    """Write JSON atomically, so a crash never leaves half a metrics file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=_jsonable) + "\n")
    tmp.replace(path)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text())


def _jsonable(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)
