"""The registered model, as MLflow "models from code": raw daily bars in, next-close forecasts out.

Input: a DataFrame of the latest daily bars, oldest first, with columns Date,
Open, High, Low, Close, Volume, as a CSV reads them (dates as text, volumes as
integers) or already parsed; at least the features' warm-up plus `lookback` rows
(the model's metadata names `lookback` and `features`). Output: one row per
input day that has a full window of history:
date, close, forecast (next close), expected_return, signal (1 long, 0 flat,
-1 short), and lower and upper: the ends of the interval for the next close at the
level the model was calibrated for (metadata `interval_level`). The last row is the
forecast for the next trading day.
"""

from __future__ import annotations

import json

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class StockflowForecaster(PythonModel):
    """The network and its fitted transform, with the signal rule of the run that trained them."""

    def load_context(self, context):
        import joblib
        import keras

        from stockflow.forecaster import Forecaster
        from stockflow.intervals import Interval

        with open(context.artifacts["settings"]) as f:
            settings = json.load(f)
        self.threshold, self.allow_short = settings["threshold"], settings["allow_short"]
        self.forecaster = Forecaster(
            keras.models.load_model(context.artifacts["model"]),
            joblib.load(context.artifacts["transform"]),
            settings.get("shrink", 1.0),
            Interval.from_dict(settings["interval"]) if settings.get("interval") else None,
        )

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from stockflow.prices import normalise

        prices = normalise(pd.DataFrame(model_input))
        return self.forecaster.forecast(prices, self.threshold, self.allow_short)


mlflow.models.set_model(StockflowForecaster())
