"""stockflow core: pure functions from price frames to forecasts, signals and backtests.

Nothing in this package touches Prefect, MLflow or file paths; `tasks/` does. Its modules are
grouped by subject: `data/`, `ticker/`, `universe/`, `trading/`, `champion/`, `reporting/`, the
plug-in packages `models/`, `strategies/`, `monitors/`, and beside them the settings (`config.py`).
"""

import importlib
import importlib.abc
import importlib.util
import sys

__version__ = "0.1.0"

# Where modules lived before they were grouped by subject. A model pickled then holds its scaler as
# `stockflow.dataset.Transform`: the old names still import (the module under its new name), so every
# champion registered before loads, is served and is monitored as it was.
_MOVED = {
    f"stockflow.{module}": f"stockflow.{group}.{module}"
    for group, modules in {
        "data": ("bars", "formats", "prices", "validation", "synthetic"),
        "ticker": ("dataset", "features", "forecaster", "baselines", "evaluation", "forecast_metrics", "intervals",
                   "robustness"),
        "universe": ("panel", "factors", "ranker", "ranking", "portfolio", "rolling"),
        "trading": ("backtest", "optimise", "sizing", "stop_grid", "performance"),
        "champion": ("promotion", "monitoring", "monitor_report", "universe_monitoring", "policies", "replay"),
        "reporting": ("summary", "headline", "plots", "watchlist"),
    }.items()
    for module in modules
}  # fmt: skip


class _Moved(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path, target=None):
        return importlib.util.spec_from_loader(name, self) if name in _MOVED else None

    def create_module(self, spec):
        return importlib.import_module(_MOVED[spec.name])

    def exec_module(self, module):
        pass


sys.meta_path.append(_Moved())
