"""`drift`: do the champion's inputs still look like the ones it learnt from? PSI and KS on the last live bars'
log returns and 20-day volatility against the training window; reported either way, an alarm only toward a
wilder market than training (`stockflow/champion/monitoring.py`)."""

from __future__ import annotations

from stockflow.champion import monitoring
from stockflow.monitors import Context, Finding


class Drift:
    name, verdict, once = "drift", "drifted", True

    def check(self, ctx: Context) -> Finding:
        p = ctx.params
        inputs = monitoring.drift_test(*monitoring.input_windows(ctx.inputs, ctx.windows["train"], ctx.data_through,
                                                                 p.drift_window), p)  # fmt: skip
        drifted, adverse = any(v["drifted"] for v in inputs.values()), monitoring.adverse_drift(inputs)
        lines = []
        for name, s in inputs.items():
            if s["psi"] is None or s["psi"] != s["psi"]:
                lines.append(f"  drift {name:<14}n/a (too few days)")
                continue
            flag = ("DRIFTED" if s["wilder"] else "CALMER") if s["drifted"] else "ok"
            stats = f"PSI {s['psi']:.3f}, KS {s['ks_stat']:.3f} (p {s['ks_pvalue']:.2g})"
            lines.append(f"  drift {name:<14}{flag:<8} {stats}")
        moved = [f"{name} PSI {s['psi']:.2f}, KS {s['ks_stat']:.2f}" for name, s in inputs.items() if s["drifted"]]
        metrics = {f"drift/{name}.{k}": v for name, s in inputs.items() for k, v in s.items()
                   if k not in ("drifted", "wilder")}  # fmt: skip
        return Finding(
            fired=drifted,
            alarms=adverse,
            figures={"drift": drifted, "drift_inputs": inputs, "drift_adverse": adverse},
            metrics={"Monitor/drift": float(drifted), **metrics},
            lines=tuple(lines),
            reason=f"drifted: {'; '.join(moved)} (last {len(ctx.live)} live days against the training window)",
            no_alarm="  no alarm         the market is calmer than the one the champion learnt: reported, not alarmed",
        )


STATISTIC = Drift()
