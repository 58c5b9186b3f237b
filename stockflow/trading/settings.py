"""`backtest`: the trading rules and costs every strategy reads, and the search each tunes on validation (config.py
composes this section into `Params`)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from stockflow.sections import Section, plugin_names


class OptimiseParams(Section):
    """Strategy search on the validation window's forecasts; the test window is traded once with the winner."""

    method: Literal["none", "grid", "random"] = "grid"
    objective: Literal["sharpe", "calmar", "total_return"] = "sharpe"
    thresholds: tuple[float, ...] = (0.0, 0.001, 0.002, 0.005)
    stop_losses: tuple[float | None, ...] = (None, 0.02, 0.05)
    take_profits: tuple[float | None, ...] = (None, 0.05, 0.10)
    samples: int = Field(20, ge=1, description="candidates drawn by random search")
    walk_forward_folds: int = Field(0, ge=0, description="re-choose before each of this many test folds; 0 = off")

    @model_validator(mode="after")
    def _levels_positive(self) -> OptimiseParams:
        for name in ("stop_losses", "take_profits"):
            if any(v is not None and v <= 0 for v in getattr(self, name)):
                raise ValueError(f"{name} must be positive fractions or null")
        if not (self.thresholds and self.stop_losses and self.take_profits):
            raise ValueError("thresholds, stop_losses and take_profits each need at least one value")
        return self

    def space(self) -> dict[str, list]:
        return {
            "threshold": list(self.thresholds),
            "stop_loss": list(self.stop_losses),
            "take_profit": list(self.take_profits),
        }


class SizingParams(Section):
    """The risk-sized strategy (stockflow/trading/sizing.py): hold min(1, target / the interval's downside) of the
    equity."""

    targets: tuple[float, ...] = Field(
        (0.005, 0.01, 0.015, 0.02, 0.03),
        min_length=1,
        description="losses to the interval's lower end tried on the validation window",
    )
    band: float = Field(0.1, ge=0, lt=1, description="rebalance when the share held is this far from the wanted one")

    @field_validator("targets")
    @classmethod
    def _positive(cls, targets: tuple[float, ...]) -> tuple[float, ...]:
        if any(t <= 0 for t in targets):
            raise ValueError("targets must be positive fractions of the equity")
        return targets


class BacktestParams(Section):
    """The trading rules and costs, and the strategy search done on the validation window."""

    cash: float = Field(10_000.0, gt=0)
    commission: float = Field(0.001, ge=0, lt=1)
    slippage: float = Field(0.0005, ge=0, lt=1)
    stop_loss: float | None = Field(0.05, gt=0, lt=1)
    take_profit: float | None = Field(0.10, gt=0)
    threshold: float = 0.0
    allow_short: bool = False
    whole_units: bool = False
    risk_free_rate: float = 0.0
    # What a run trades on its test window beside Buy-and-Hold: strategies of stockflow/strategies/, by name.
    strategies: tuple[str, ...] = ("strategy", "optimised", "sized")
    optimise: OptimiseParams = OptimiseParams()
    sizing: SizingParams = SizingParams()

    @field_validator("strategies")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return plugin_names(names, "stockflow.strategies", "strategy")
