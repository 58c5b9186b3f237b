"""A universe's registered model, as MLflow "models from code": the rows of every ticker in, each (date, ticker)'s
score and the portfolio's target weight for the next session out.

Input: one DataFrame of the daily rows of all the universe's tickers, as `pd.read_csv` reads
each file, with a `Ticker` column (Date, Close, and Open when the files have one). Tickers the
model was not trained on are ignored. Output: date, ticker, score (higher: expected to do
better tomorrow than the others), weight (the share of the portfolio to hold from the next
session: TopkDropout with the rules chosen on the validation window, following the model's
own earlier holdings over the rows given). The last date's weights are tomorrow's portfolio.
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class StockflowRanker(PythonModel):
    """The universe's network, its transform and its portfolio rules."""

    def load_context(self, context):
        from stockflow.universe.ranker import load

        with open(context.artifacts["ranker"], "rb") as f:
            self.ranker = load(f.read())

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        from stockflow.data.prices import normalise
        from stockflow.universe.panel import align

        rows = normalise(pd.DataFrame(model_input).drop(columns=["Ticker"]).assign(Ticker=model_input["Ticker"]))
        frames = {t: rows[rows["Ticker"] == t] for t in self.ranker.tickers if (rows["Ticker"] == t).any()}
        return self.ranker.rank(align(frames))


mlflow.models.set_model(StockflowRanker())
