"""The registered model, as MLflow "models from code": raw daily bars in, next-close forecasts out.

Input: a DataFrame of the latest daily bars, oldest first, with columns Date,
Open, High, Low, Close, Volume, as a CSV reads them (dates as text, volumes as
integers) or already parsed; at least the features' warm-up plus `lookback` rows
(the model's metadata names its `architecture`, `lookback` and `features`). Output:
one row per input day that has a full window of history:
date, close, forecast (next close), expected_return, signal (1 long, 0 flat,
-1 short), and lower and upper: the ends of the interval for the next close at
`level`, the level the model was calibrated for. The last row is the forecast for
the next trading day. The model is the forecaster's one file
(`stockflow/ticker/forecaster.py`), whatever its family.
"""

from __future__ import annotations

import json

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class StockflowForecaster(PythonModel):
    """The forecaster (model, transform, shrink factor, interval), with the signal rule of the run that trained it."""

    def load_context(self, context):
        from stockflow.ticker.forecaster import load

        with open(context.artifacts["settings"]) as f:
            settings = json.load(f)
        self.threshold, self.allow_short = settings["threshold"], settings["allow_short"]
        with open(context.artifacts["forecaster"], "rb") as f:
            self.forecaster = load(f.read())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from stockflow.data.prices import normalise

        prices = normalise(pd.DataFrame(model_input))
        return self.forecaster.forecast(prices, self.threshold, self.allow_short)


mlflow.models.set_model(StockflowForecaster())
