"""The MLflow Model Registry side: log the self-contained forecaster, register versions, read and move aliases.

Each ticker has one registered model, `stockflow-<ticker>`. The alias
`challenger` marks the newest successful run's version, `champion` the one
the gate let through; `stockflow predict` and `mlflow models serve` use it.
"""

from __future__ import annotations

import json
import tempfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

import stockflow
from stockflow.config import Params

CHAMPION, CHALLENGER = "champion", "challenger"
MODEL_ARTIFACT = "model"
# What a fresh environment needs to load and run the model (`mlflow models serve`).
REQUIREMENTS = ("tensorflow-cpu", "keras", "scikit-learn", "pandas", "numpy", "ta", "pydantic", "joblib")


def model_name(ticker: str) -> str:
    return f"stockflow-{ticker}"


INPUT_COLUMNS = ("Date", "Open", "High", "Low", "Close", "Volume")


def model_input(prices: Any) -> Any:
    """The registered model's input: the signature's columns, Volume as float."""
    return prices[list(INPUT_COLUMNS)].assign(Volume=prices["Volume"].astype(float))


def signature():
    import pandas as pd
    from mlflow.models import infer_signature

    example = pd.DataFrame(
        {"Date": pd.to_datetime(["2020-01-02"]), "Open": [1.0], "High": [1.0], "Low": [1.0], "Close": [1.0],
         "Volume": [1.0]}
    )  # fmt: skip
    output = pd.DataFrame(
        {"date": pd.to_datetime(["2020-01-02"]), "close": [1.0], "forecast": [1.0], "expected_return": [0.0],
         "signal": [0]}
    )  # fmt: skip
    return infer_signature(example, output)


def log_forecaster(params: Params, model_file: Path, transform_file: Path) -> Any:
    """Log the pyfunc forecaster into the active run: network, transform and feature code travel with it."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        settings = Path(tmp) / "settings.json"
        settings.write_text(
            json.dumps({"threshold": params.backtest.threshold, "allow_short": params.backtest.allow_short})
        )
        return mlflow.pyfunc.log_model(
            name=MODEL_ARTIFACT,
            python_model=str(Path(__file__).with_name("serving_model.py")),
            artifacts={"model": str(model_file), "transform": str(transform_file), "settings": str(settings)},
            code_paths=[str(Path(stockflow.__file__).parent)],
            signature=signature(),
            pip_requirements=[f"{name}=={version(name)}" for name in REQUIREMENTS],
            metadata={"lookback": params.preprocess.lookback, "features": list(params.preprocess.features)},
        )


def champion_version(ticker: str) -> Any | None:
    """The champion's ModelVersion, or None when there is none yet."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    try:
        return MlflowClient().get_model_version_by_alias(model_name(ticker), CHAMPION)
    except MlflowException:
        return None


def load_version(ticker: str, version: str | int) -> Any:
    import mlflow

    return mlflow.pyfunc.load_model(f"models:/{model_name(ticker)}/{version}")


def version_run_id(ticker: str, version: str | int) -> str | None:
    from mlflow import MlflowClient

    return MlflowClient().get_model_version(model_name(ticker), str(version)).run_id


def register(run_id: str, ticker: str, tags: dict[str, str]) -> Any:
    """A new version from the run's logged model, tagged; no alias moves here."""
    import mlflow
    from mlflow import MlflowClient

    logged = mlflow.search_logged_models(
        filter_string=f"source_run_id = '{run_id}' AND name = '{MODEL_ARTIFACT}'", output_format="list"
    )
    if not logged:
        raise RuntimeError(f"run {run_id} has no logged model to register")
    newest = max(logged, key=lambda m: m.creation_timestamp)
    client = MlflowClient()
    name = model_name(ticker)
    if not client.search_registered_models(filter_string=f"name = '{name}'"):
        client.create_registered_model(name, description=f"stockflow next-close forecaster for {ticker}")
    # The model id is what a tracking server needs to accept a `models:/` source.
    return client.create_model_version(name, newest.model_uri, run_id=run_id, tags=tags, model_id=newest.model_id)


def move_alias(ticker: str, alias: str, version: str | int) -> None:
    from mlflow import MlflowClient

    MlflowClient().set_registered_model_alias(model_name(ticker), alias, str(version))
