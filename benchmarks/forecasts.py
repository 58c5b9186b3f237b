"""The forecast table: the paper preset, the default and the baseline ladder on the same test days, per real series."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from benchmarks.timing import timed


def main() -> None:
    """Paper preset, default and the baseline ladder on the same test days, per real series."""
    from stockflow.ticker import baselines
    from stockflow.ticker.dataset import make_dataset
    from stockflow.ticker.robustness import train_and_forecast
    from tasks import sources
    from tasks.services.workspace import Workspace

    project = Workspace.project(Path.cwd())
    setups = {"paper preset": project.load_params(["preset=paper"]), "default": project.load_params()}
    for sample in ("sp500", "nasdaq"):
        prices = sources.load(f"sample:{sample}")[0].prices.frame
        closes = prices["Close"].to_numpy(dtype=float)
        day = {d: i for i, d in enumerate(prices["Date"].to_numpy())}
        forecasts, seconds, data = {}, {}, None
        for name, params in setups.items():
            data = make_dataset(prices, params.preprocess)
            forecasts[name], seconds[name] = timed(train_and_forecast, data, params.train)
            forecasts[name] = dict(zip(data.dates["test"], forecasts[name], strict=True))
        # Baselines on the default set-up's samples, as a run computes them.
        test = data.dates["test"]
        ladder = baselines.ladder(data, closes, {"test": np.array([day[d] for d in test])}, 10)["test"]
        for name, values in ladder.items():
            forecasts[name] = dict(zip(test, values, strict=True))
        # The same test days for everything: those every forecaster covers.
        common = sorted(set.intersection(*(set(f) for f in forecasts.values())))
        actual = np.array([closes[day[d] + 1] for d in common])
        base = np.mean(np.abs(np.array([forecasts["persistence"][d] for d in common]) - actual))
        print(f"\nforecasts on {sample}, {len(common)} test days from {str(common[0])[:10]}: MAE / persistence MAE")
        for name, f in forecasts.items():
            ratio = np.mean(np.abs(np.array([f[d] for d in common]) - actual)) / base
            took = f"{seconds[name]:8.1f} s training" if name in seconds else ""
            print(f"  {name:<14}{ratio:>8.3f}   {took}")
        ratio_of_time = seconds["default"] / seconds["paper preset"]
        print(f"  default trains in {ratio_of_time:.2f}x the paper preset's time")
