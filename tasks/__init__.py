"""Stage functions: read params and files, call the core, write outputs, log to MLflow.

One module per stage, named as the stage is named everywhere (dvc.yaml,
params.yaml, the Prefect task, the MLflow metric prefix).
"""
