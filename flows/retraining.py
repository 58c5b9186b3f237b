"""Each kind's retraining flow, by the kind's name: what a study, a schedule or an alarm starts for a subject."""

from __future__ import annotations

from flows.retrain import retrain
from flows.universe import retrain_universe
from tasks.kinds import TICKER, UNIVERSE

RETRAIN = {TICKER.name: retrain, UNIVERSE.name: retrain_universe}
