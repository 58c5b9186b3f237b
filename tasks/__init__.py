"""Stage functions and the services around them: files, MLflow, DVC.

One module per stage (`validate`, `preprocess`, `train`, `evaluate`, `backtest`,
`promote`), named as the stage is named everywhere (dvc.yaml, params.yaml, the
Prefect task, the MLflow metric prefix). Stages read and write only the files
`catalog.py` declares; `execution.py` runs them for the Prefect flows and
`dvc_stage.py` for `dvc repro`; MLflow lives in `tracking.py`, DVC in `dvc_repo.py`.
"""
