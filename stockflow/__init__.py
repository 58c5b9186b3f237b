"""stockflow core: pure functions from price frames to forecasts, signals and backtests.

Nothing in this package touches Prefect, MLflow or file paths; `tasks/` does.
"""

__version__ = "0.1.0"
