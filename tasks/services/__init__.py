"""What the stages and commands stand on: the catalog, the execution and its record, MLflow, DVC,
the workspace, files, the process, provenance."""
