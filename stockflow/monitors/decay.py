"""`decay`: is the champion falling behind persistence on its live days? A one-sided CUSUM on the scaled loss
differential, tuned and calibrated on its test window (`stockflow/champion/monitoring.py` says how)."""

from __future__ import annotations

from stockflow.champion import monitoring
from stockflow.monitors import Context, Finding
from stockflow.ticker.forecast_metrics import mae_ratio


class Decay:
    name, verdict, once = "decay", "decayed", False

    def check(self, ctx: Context) -> Finding:
        cal = monitoring.calibrate_on(ctx.test, ctx.params)
        d = monitoring.loss_differential(ctx.live)
        decay = monitoring.decay_test(d, cal)
        n, testable = len(ctx.live), cal.std > 1e-9
        cusum = float(decay.path[-1]) if n else 0.0
        day = str(ctx.live["target_date"].iloc[decay.alarm_day].date()) if decay.alarmed else None
        said = f"YES, from {day}" if decay.alarmed else "no"
        line = f"  decay (CUSUM)    {said}: statistic {cusum:.2f}, threshold {decay.threshold:.2f}"
        if not testable:
            line = "  decay (CUSUM)    n/a: the champion forecasts persistence itself (shrink 0): it cannot fall behind"
        reason = ""
        if decay.alarmed:
            live, test = (mae_ratio(w["actual"], w["forecast"], w["close"]) for w in (ctx.live, ctx.test))
            reason = (f"decayed: live MAE/persistence {live:.3f} over {n} days (test window {test:.3f}); CUSUM "
                      f"{cusum:.1f} > {decay.threshold:.1f} since {day}")  # fmt: skip
        return Finding(
            fired=decay.alarmed,
            figures={"decay": decay.alarmed, "cusum": cusum, "threshold": decay.threshold, "decay_day": day,
                     "decay_testable": testable},
            metrics={"Monitor/threshold": decay.threshold, "Monitor/decay": float(decay.alarmed)},
            series={"Monitor/cusum": decay.path},
            columns={"loss_differential": d, "cusum": decay.path},
            lines=(line,),
            reason=reason,
        )  # fmt: skip


STATISTIC = Decay()
