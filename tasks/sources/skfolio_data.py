"""`skfolio:sp500`: the daily adjusted closes of 20 S&P 500 stocks, 1990-2022, shipped inside the `skfolio` package
(works offline): the default real universe, `sp20`. Closes only: each series is stored as Date and Close (the
adjusted close), checked by the close suite, and can be part of a universe, not trained on alone."""

from __future__ import annotations

from stockflow.data.formats import Normalised
from tasks.sources import Loaded, known

DATASETS = {"sp500": "20 S&P 500 stocks, daily adjusted closes 1990-2022 (skfolio package)"}


class Skfolio:
    kind = "skfolio"
    help = "skfolio:sp500 (20 S&P 500 stocks' adjusted closes, embedded: the universe sp20)"

    def load(self, arg: str) -> list[Loaded]:
        known(arg, DATASETS, "skfolio dataset")
        from skfolio.datasets import load_sp500_dataset

        closes = load_sp500_dataset()
        return [Loaded(ticker.lower(), Normalised(closes[ticker].dropna().rename("Close").rename_axis("Date")
                                                  .reset_index()), f"{ticker}: {DATASETS[arg]}")
                for ticker in closes.columns]  # fmt: skip


SOURCE = Skfolio()
