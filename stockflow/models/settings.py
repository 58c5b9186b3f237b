"""`train`: the model and how it is fitted, the section every model family reads; a family's own settings are its
module's `Settings`, checked here as `train.options` (config.py composes this section into `Params`)."""

from __future__ import annotations

from typing import Any

from pydantic import Field, ValidationError, field_validator, model_validator

from stockflow.sections import Section, family


class TrainParams(Section):
    """The model and how it is fitted; the defaults are the paper's network."""

    # A model family of stockflow/models/ (the networks: lstm, gru, cnn_lstm); its own settings, when it has
    # any, go in `options`.
    architecture: str = "lstm"
    layers: int = Field(2, ge=1)
    units: int = Field(50, ge=1)
    dropout: float = Field(0.1, ge=0, lt=1)
    epochs: int = Field(50, ge=1)
    batch_size: int = Field(32, ge=1)
    learning_rate: float = Field(0.001, gt=0)
    patience: int = Field(5, ge=0, description="early-stopping patience; 0 turns it off")
    seed: int = 42
    # Scale the predicted move (forecast - today's close) by the factor in [0, 1] with the lowest MAE on the
    # validation window: 0 is persistence, so the model is never chosen worse than it there.
    shrink: bool = True
    options: dict[str, Any] = Field(default_factory=dict, description="the model family's own settings")

    @field_validator("architecture")
    @classmethod
    def _a_family(cls, architecture: str) -> str:
        family(architecture)  # ValueError naming the choices
        return architecture

    @model_validator(mode="after")
    def _its_options(self) -> TrainParams:
        chosen = family(self.architecture)
        if chosen.Settings is not None:
            try:
                chosen.Settings.model_validate(self.options)
            except ValidationError as exc:
                problems = "; ".join(f"options.{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
                raise ValueError(f"{self.architecture}: {problems}") from None
        elif self.options:
            raise ValueError(f"{self.architecture} takes no options (got {', '.join(self.options)})")
        return self
