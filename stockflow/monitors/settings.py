"""`monitor`: how the champion is watched between retrains, the section every monitor statistic reads (config.py
composes this section into `Params`)."""

from __future__ import annotations

from pydantic import Field, field_validator

from stockflow.sections import Section, plugin_names


class MonitorParams(Section):
    """How the champion is watched between retrains (`stockflow monitor`; see stockflow/champion/monitoring.py)."""

    # The questions asked of a champion, statistics of stockflow/monitors/; the first that fires gives the verdict.
    statistics: tuple[str, ...] = ("decay", "coverage", "drift")

    @field_validator("statistics")
    @classmethod
    def _known(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        return plugin_names(names, "stockflow.monitors", "statistic")

    min_days: int = Field(20, ge=1, description="fewer live days than this: verdict `too few days`, no alarm")
    decay_margin: float = Field(0.05, gt=0, description="rise of the MAE ratio the CUSUM is tuned to catch")
    false_alarm_rate: float = Field(0.05, gt=0, lt=1, description="chance of a decay alarm within horizon_days "
                                                                  "when nothing changed")  # fmt: skip
    horizon_days: int = Field(250, ge=10, description="the live span the false-alarm rate is set for")
    block_days: int = Field(20, ge=1, description="bootstrap block length (keeps volatility clusters together)")
    bootstrap_samples: int = Field(500, ge=50)
    bootstrap_seed: int = 0
    drift_window: int = Field(63, ge=5, description="the last live days compared with the training window")
    psi_threshold: float = Field(0.25, gt=0, description="effect size for drift: population stability index")
    ks_alpha: float = Field(0.01, gt=0, lt=1, description="... and the KS p-value below which it counts")
    cooldown_days: int = Field(63, ge=1, description="after an alarm, live days before the same champion alarms again")
    coverage_alpha: float = Field(0.01, gt=0, lt=1, description="Kupiec p-value below which an interval that misses "
                                                                "too often has stopped covering")  # fmt: skip
    rank_ic_margin: float = Field(0.03, gt=0, description="a universe's decay: the fall of its daily Rank IC the "
                                                          "CUSUM is tuned to catch")  # fmt: skip
