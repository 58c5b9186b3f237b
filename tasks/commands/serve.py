"""`stockflow serve`: the champion behind MLflow's scoring server, from this project's store.

`mlflow models serve` runs its server as a command found on PATH (exit 127 when the
virtual environment is not on it) and needs the store's URI; this gives it both, pins
the champion's version (an alias that moves while serving would change answers
without a restart) and uses the environment the project already has (`--env-manager
local`): no other environment is built, nothing is downloaded.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from stockflow.config import Params
from stockflow.errors import PredictError
from tasks.commands.predict import registry_champion
from tasks.services import tracking
from tasks.services.workspace import Workspace


def scoring_server(ws: Workspace, params: Params, ticker: str, host: str, port: int) -> tuple[list[str], dict, str]:
    """The `mlflow models serve` command line and environment for the champion of `ticker` (of a universe:
    `universe-NAME`), and what it serves."""
    from tasks import kinds

    kind, name = kinds.of_registered(ticker)
    how = f"`stockflow run --{kind.name} {name}` trains one"
    tracker, version = registry_champion(ws, params, ticker, PredictError, f"to serve: {how}")
    bin_dir = Path(sys.executable).parent
    uri = f"models:/{tracking.model_name(ticker)}/{version.version}"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
           "MLFLOW_TRACKING_URI": tracker.uri}  # fmt: skip
    command = [str(bin_dir / "mlflow"), "models", "serve", "-m", uri, "--env-manager", "local",
               "--host", host, "--port", str(port)]  # fmt: skip
    return command, env, f"{tracking.model_name(ticker)} v{version.version} (champion)"
