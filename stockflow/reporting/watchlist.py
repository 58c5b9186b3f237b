"""The cross-ticker table of a watchlist run: one row per ticker, its forecast and strategy beside their benchmarks.

Pure: rows in (each ticker's headline figures, or its failure), table and text out.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from stockflow.reporting.headline import headline

COLUMNS = ["ticker", "status", "mae_pct", "dm_p", "return_pct", "bh_return_pct", "excess_pct", "sharpe", "bh_sharpe",
           "max_dd_pct", "gate", "version", "seconds", "run_id", "reason", "data_md5"]  # fmt: skip


def ok_row(ticker: str, results: dict[str, Any], seconds: float) -> dict[str, Any]:
    """A finished ticker: its headline figures, the strategy's excess over Buy-and-Hold, the gate's verdict."""
    figures = headline(results["evaluate"], results["backtest"], results["promote"])
    promote = results["promote"]
    gate = "promoted" if promote["promote"] else "rejected"
    if not promote.get("registered", True):
        gate = f"identical ({gate})"
    return {
        "ticker": ticker,
        "status": "ok",
        **{k: figures[k] for k in ("mae_pct", "dm_p", "return_pct", "bh_return_pct", "sharpe", "max_dd_pct")},
        "excess_pct": round(figures["return_pct"] - figures["bh_return_pct"], 2),
        "bh_sharpe": round(results["backtest"]["buy_and_hold"]["sharpe"], 3),
        "gate": gate,
        "version": int(promote["version"]),
        "seconds": round(seconds, 1),
        "run_id": results["run_id"],
        "reason": "",
        "data_md5": results.get("data_md5", ""),
    }


def failed_row(ticker: str, reason: str, seconds: float, run_id: str = "") -> dict[str, Any]:
    """A ticker that did not finish: nothing but why."""
    return {"ticker": ticker, "status": "failed", "gate": "-", "seconds": round(seconds, 1), "run_id": run_id,
            "reason": reason}  # fmt: skip


def _num(value: Any, fmt: str) -> str:
    return "n/a" if value is None or value != value else format(value, fmt)


def table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows).reindex(columns=COLUMNS)


def text(frame: pd.DataFrame) -> str:
    """The table for a terminal: `!` marks a forecast worse than persistence, failures say why."""
    head = (f"  {'ticker':<12}{'MAE %pers':>10}{'DM p':>7}{'return %':>10}{'B&H %':>8}{'excess':>8}{'Sharpe':>8}"
            f"{'B&H Sh.':>8}  {'gate':<22}{'s':>6}")  # fmt: skip
    lines = [head]
    for r in frame.to_dict("records"):
        if r["status"] != "ok":
            lines.append(f"  {r['ticker']:<12}FAILED: {r['reason']}"[:160])
            continue
        worse = "!" if r["mae_pct"] > 100 else " "
        gate = f"{r['gate']} v{int(r['version'])}"
        lines.append(
            f"  {r['ticker']:<12}{r['mae_pct']:>9.2f}{worse}{_num(r['dm_p'], '.3f'):>7}{r['return_pct']:>10.1f}"
            f"{r['bh_return_pct']:>8.1f}{r['excess_pct']:>8.1f}{r['sharpe']:>8.2f}{r['bh_sharpe']:>8.2f}  "
            f"{gate:<22}{r['seconds']:>6.0f}"
        )
    ok = frame[frame["status"] == "ok"]
    worse = ok[ok["mae_pct"] > 100]["ticker"].tolist()
    lines.append(f"\n  {len(ok)} of {len(frame)} tickers finished; MAE %pers < 100 beats persistence"
                 + (f"; worse than persistence (!): {', '.join(worse)}" if worse else ""))  # fmt: skip
    return "\n".join(lines)
