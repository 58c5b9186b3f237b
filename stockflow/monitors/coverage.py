"""`coverage`: does the champion's interval still cover its live days at its level? Kupiec's test; an interval
that misses significantly too often has stopped covering (`miscovered`), one too wide is reported, not alarmed."""

from __future__ import annotations

from stockflow.champion import monitoring
from stockflow.monitors import Context, Finding

NONE = {"interval_level": None, "live_coverage": None, "test_coverage": None, "coverage_pvalue": None,
        "miscovered": False}  # fmt: skip


class Coverage:
    name, verdict, once = "coverage", "miscovered", False

    def check(self, ctx: Context) -> Finding:
        live, level, alpha = ctx.live, ctx.level, ctx.params.coverage_alpha
        if level is None or not set(monitoring.BOUNDS) <= set(live.columns):
            return Finding(fired=False, figures=NONE, metrics={"Monitor/miscovered": 0.0})
        found = monitoring.coverage_test(live, level, alpha)
        figures = {"interval_level": level, **found,
                   "test_coverage": monitoring.coverage_test(ctx.test, level, alpha)["live_coverage"]}  # fmt: skip
        inside = ((live["actual"] >= live["lower"]) & (live["actual"] <= live["upper"])).astype(float)
        cumulative = inside.expanding().mean().to_numpy()
        lines, reason = (), ""
        if figures["live_coverage"] is not None:
            covered, p_value = figures["live_coverage"], figures["coverage_pvalue"]
            test = "n/a" if figures["test_coverage"] is None else f"{figures['test_coverage']:.1%}"
            said = "STOPPED COVERING" if found["miscovered"] else "ok"
            lines = (f"  {level:.0%} interval     {said}: live coverage {covered:.1%} (test window {test}), Kupiec p "
                     f"{p_value:.3g}",)  # fmt: skip
            reason = f"miscovered: its {level:.0%} interval covered {covered:.1%} of {len(live)} live days (Kupiec p " \
                     f"{p_value:.2g})"  # fmt: skip
        metrics = {f"Monitor/{k}": figures[k] for k in ("test_coverage", "coverage_pvalue") if figures[k] is not None}
        return Finding(
            fired=found["miscovered"],
            figures=figures,
            metrics={**metrics, "Monitor/miscovered": float(found["miscovered"])},
            series={"Monitor/live_coverage": cumulative},
            columns={"inside": inside.to_numpy(), "cum_coverage": cumulative},
            lines=lines,
            reason=reason,
        )


STATISTIC = Coverage()
