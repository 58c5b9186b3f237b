"""`preprocess`: what a ticker's network learns (target), from what (features, lookback), and how its samples are
split (config.py composes this section into `Params`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from stockflow.sections import Section


class PreprocessParams(Section):
    """What the network learns (target), from what (features, lookback), and how samples are split."""

    # "price": scaled next close (the paper); "log_return": next day's log return.
    target: Literal["price", "log_return", "simple_return"] = "log_return"
    # minmax: the paper's [0, 1] scaling; standard: zero mean, unit variance (a return of 0 stays near 0).
    scaler: Literal["minmax", "standard"] = "standard"
    features: tuple[str, ...] = ("log_return",)
    lookback: int = Field(20, ge=2)
    test_fraction: float = Field(0.2, gt=0, lt=1)
    val_fraction: float = Field(0.1, gt=0, lt=1)
