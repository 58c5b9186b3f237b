"""Figures people would rather look at than read. Each returns a matplotlib Figure."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.ticker import MaxNLocator, PercentFormatter  # noqa: E402

from stockflow.trading.performance import drawdown  # noqa: E402


def price_chart(prices: pd.DataFrame, title: str) -> Any:
    """The close over time, and below it each day's move from open to close (the paper's Figure 1, legible).

    Drawn as two lines on one axis, open and close lie on top of each other at any
    span longer than a few weeks; the second panel shows what separates them.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5), sharex=True, height_ratios=(3, 1))
    top.plot(prices["Date"], prices["Close"], color="tab:red", lw=0.8, label="close")
    top.set(title=title, ylabel="price")
    top.legend(loc="upper left")
    body = prices["Close"] / prices["Open"] - 1.0
    bottom.vlines(prices["Date"], 0, body, colors=np.where(body >= 0, "tab:green", "tab:red"), lw=0.6)
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bottom.set(ylabel="open to close", xlabel="date")
    fig.tight_layout()
    return fig


def loss_curves(history: pd.DataFrame, best_epoch: int | None = None) -> Any:
    """Training and validation MSE per epoch, each on its own scale (they differ by a factor of several)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, column, label, color in (
        (axes[0], "loss", "training windows", "tab:blue"),
        (axes[1], "val_loss", "validation windows", "tab:orange"),
    ):
        if column in history:
            ax.plot(history["epoch"], history[column], marker="o", ms=3, color=color)
        if best_epoch is not None:
            ax.axvline(best_epoch, color="gray", ls="--", lw=0.8, label=f"best epoch ({best_epoch}), weights kept")
            ax.legend(loc="upper right", fontsize=8)
        ax.set(title=f"MSE loss, {label}", xlabel="epoch", ylabel="loss (scaled target)")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    fig.tight_layout()
    return fig


def predicted_vs_actual(pred: pd.DataFrame, title: str, last_days: int = 120) -> Any:
    """The forecast against the truth: the last `last_days` test days as prices, and every test day as moves.

    A next-day forecast sits within a percent of today's close, so over years its line
    hides under the price; the moves (forecast vs actual change from today's close) show
    what the model adds.
    """
    fig, (top, bottom) = plt.subplots(1, 2, figsize=(12, 4.2), width_ratios=(3, 2))
    recent = pred.tail(last_days)
    top.plot(recent["target_date"], recent["actual"], color="black", lw=1.0, label="actual close")
    top.plot(recent["target_date"], recent["forecast"], color="tab:blue", lw=1.0, ls="--", label="forecast")
    top.set(title=f"{title}: last {len(recent)} days", xlabel="date", ylabel="price")
    top.tick_params(axis="x", labelrotation=30)
    top.legend()
    predicted = pred["forecast"] / pred["close"] - 1.0
    actual = pred["actual"] / pred["close"] - 1.0
    bottom.scatter(predicted, actual, s=4, alpha=0.4, color="tab:blue")
    bottom.axhline(0, color="gray", lw=0.5)
    bottom.axvline(0, color="gray", lw=0.5)
    hit = float(np.mean(np.sign(predicted) == np.sign(actual)))
    bottom.set(title=f"next-day move, all {len(pred)} days (same sign {hit:.0%})", xlabel="forecast", ylabel="actual")
    bottom.xaxis.set_major_formatter(PercentFormatter(1.0))  # decimals as the (small) forecast moves need them
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    fig.tight_layout()
    return fig


def interval_band(pred: pd.DataFrame, scores: dict, title: str, last_days: int = 120) -> Any:
    """The test window with the model's interval band: the last `last_days` days as prices, every day as moves.

    Misses are red; GARCH's interval (the stronger baseline, usually) is dashed for comparison.
    """
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(12, 6.5), height_ratios=(1, 1))
    level = scores["level"]
    recent = pred.tail(last_days)
    day = recent["target_date"]
    top.fill_between(day, recent["lower"], recent["upper"], color="tab:blue", alpha=0.25, lw=0,
                     label=f"model {level:.0%} interval")  # fmt: skip
    top.plot(day, recent["garch_lower"], color="tab:orange", lw=0.8, ls="--", label="GARCH(1,1) interval")
    top.plot(day, recent["garch_upper"], color="tab:orange", lw=0.8, ls="--")
    top.plot(day, recent["actual"], color="black", lw=1.0, label="actual close")
    missed = (recent["actual"] < recent["lower"]) | (recent["actual"] > recent["upper"])
    top.scatter(day[missed], recent["actual"][missed], color="tab:red", s=14, zorder=3, label="outside")
    top.set(title=f"{title}: last {len(recent)} days", ylabel="price")
    top.legend(loc="upper left", fontsize=8)
    every = pred["target_date"]
    move = pred["actual"] / pred["close"] - 1.0
    outside = (pred["actual"] < pred["lower"]) | (pred["actual"] > pred["upper"])
    bottom.fill_between(every, pred["lower"] / pred["close"] - 1, pred["upper"] / pred["close"] - 1,
                        color="tab:blue", alpha=0.25, lw=0)  # fmt: skip
    bottom.scatter(every[~outside], move[~outside], s=3, color="black", alpha=0.5)
    bottom.scatter(every[outside], move[outside], s=6, color="tab:red")
    m, g, n = scores["model"], scores["garch"], scores["gaussian"]
    bottom.set(
        title=f"every test day's move: coverage model {m['coverage']:.1%}, GARCH {g['coverage']:.1%}, "
        f"Gaussian {n['coverage']:.1%}; Winkler score {m['winkler']:.1f} vs {g['winkler']:.1f} and {n['winkler']:.1f}",
        ylabel="move from today's close",
    )
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1))
    fig.tight_layout()
    return fig


def equity_vs_benchmark(equity: pd.Series, benchmark: pd.Series, title: str) -> Any:
    """The strategy's equity against Buy-and-Hold, drawdowns below."""
    return equity_curves(pd.DataFrame({"strategy": equity, "buy and hold": benchmark}), title)


def trades_on_price(prices: pd.DataFrame, trades: pd.DataFrame, title: str) -> Any:
    """Entries and exits marked on the close."""
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(prices["Date"], prices["Close"], color="black", lw=0.7, label="close")
    if len(trades):
        ax.scatter(trades["entry_date"], trades["entry_price"], marker="^", color="tab:green", s=18, label="entry")
        ax.scatter(trades["exit_date"], trades["exit_price"], marker="v", color="tab:red", s=18, label="exit")
    ax.set(title=title, xlabel="date", ylabel="price")
    ax.legend()
    fig.tight_layout()
    return fig


def search_heatmap(grid: pd.DataFrame, objective: str, threshold: float | None, title: str) -> Any:
    """Objective over stop-loss x take-profit at the chosen entry threshold ("off" where a level is null)."""
    if grid.empty or threshold is None:
        fig, ax = plt.subplots(figsize=(5, 2))
        ax.text(0.5, 0.5, "strategy search is off\n(backtest.optimise.method: none)", ha="center", va="center")
        ax.set_axis_off()
        return fig
    rows = grid[grid["threshold"] == threshold].copy()
    for col in ("stop_loss", "take_profit"):
        rows[col] = rows[col].map(lambda v: "off" if pd.isna(v) else f"{v:.1%}")
    table = rows.pivot_table(index="stop_loss", columns="take_profit", values=objective, aggfunc="first")
    fig, ax = plt.subplots(figsize=(1.2 * len(table.columns) + 3, 0.6 * len(table.index) + 2))
    image = ax.imshow(table.to_numpy(dtype=float), cmap="RdYlGn", aspect="auto")
    ax.set_xticks(range(len(table.columns)), table.columns)
    ax.set_yticks(range(len(table.index)), table.index)
    for (i, j), value in pd.DataFrame(table.to_numpy()).stack().items():
        ax.text(j, i, f"{value:.2f}", ha="center", va="center", fontsize=8)
    ax.set(title=title, xlabel="take-profit", ylabel="stop-loss")
    fig.colorbar(image, ax=ax, label=objective)
    fig.tight_layout()
    return fig


def equity_curves(equity: pd.DataFrame, title: str) -> Any:
    """Several equity curves on one chart, drawdowns below."""
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, height_ratios=(3, 1))
    for name in equity.columns:
        top.plot(equity.index, equity[name], label=str(name).replace("_", " "), lw=1)
        bottom.plot(equity.index, drawdown(equity[name]), lw=0.8)
    top.set(title=title, ylabel="equity")
    top.legend()
    bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
    bottom.set(ylabel="drawdown", xlabel="date")
    fig.tight_layout()
    return fig


def cumulative_ic(ic: pd.DataFrame, title: str) -> Any:
    """Each scorer's daily Rank IC summed over the days (`ic`: date, scorer, rank_ic): a steady climb is a signal
    that holds, a random walk around zero is none."""
    fig, ax = plt.subplots(figsize=(11, 4.5))
    for scorer, rows in ic.groupby("scorer", sort=False):
        ax.plot(pd.to_datetime(rows["date"]), rows["rank_ic"].cumsum(), lw=1.6 if scorer == "model" else 0.9,
                label=str(scorer).replace("_", " "))  # fmt: skip
    ax.axhline(0, color="gray", lw=0.6)
    ax.set(title=title, xlabel="date", ylabel="cumulative Rank IC")
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def watchlist_chart(table: pd.DataFrame, title: str) -> Any:
    """Per ticker: the forecast's error against persistence, and the strategy's return against Buy-and-Hold."""
    ok = table[table["status"] == "ok"]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 0.45 * max(len(ok), 3) + 1.8))
    y = np.arange(len(ok))
    colors = np.where(ok["mae_pct"] > 100, "tab:red", "tab:green")
    left.barh(y, ok["mae_pct"] - 100, color=colors)
    left.axvline(0, color="black", lw=0.8)
    left.set(yticks=y, yticklabels=ok["ticker"], xlabel="MAE vs persistence (% points; below 0 beats it)",
             title="forecast")  # fmt: skip
    right.barh(y - 0.2, ok["return_pct"], height=0.4, color="tab:blue", label="strategy (net)")
    right.barh(y + 0.2, ok["bh_return_pct"], height=0.4, color="tab:gray", label="buy and hold")
    right.axvline(0, color="black", lw=0.8)
    right.set(yticks=y, yticklabels=ok["ticker"], xlabel="total return on the test window, %", title="strategy")
    right.legend(loc="lower right", fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def monitor_chart(trail: pd.DataFrame, reference: pd.DataFrame, live: pd.DataFrame, report: dict) -> Any:
    """The champion ageing: its live error against persistence, the decay test, and its inputs against training.

    Top: the cumulative MAE ratio over the live days (below 1 beats persistence) beside the
    ratio on its test window, and the CUSUM against its threshold. Bottom: each watched
    input's distribution on the training window and on the last live days.
    """
    names = list(report["drift_inputs"])
    fig, axes = plt.subplots(2, max(2, len(names)), figsize=(12, 7))
    ratio, stat = axes[0][0], axes[0][1]
    days = pd.to_datetime(trail["target_date"]) if len(trail) else pd.Series(dtype="datetime64[ns]")
    if len(trail):
        ratio.plot(days, trail["cum_mae_ratio"], color="tab:blue", lw=1.2, label="live, cumulative")
        stat.plot(days, trail["cusum"], color="tab:purple", lw=1.2, label="CUSUM")
        if report.get("decay_day"):
            for ax in (ratio, stat):
                ax.axvline(pd.Timestamp(report["decay_day"]), color="tab:red", ls=":", lw=1, label="decay alarm")
    ratio.axhline(1.0, color="black", lw=0.8, label="persistence")
    ratio.axhline(report["test_mae_ratio"], color="tab:gray", ls="--", lw=0.8, label="its test window")
    ratio.set(title=f"live MAE / persistence MAE ({report['live_days']} days)", ylabel="ratio")
    ratio.legend(fontsize=8)
    stat.axhline(report["threshold"], color="tab:red", ls="--", lw=0.8, label="threshold")
    stat.set(title="decay test: one-sided CUSUM of the loss differential", ylabel="statistic (sd)")
    stat.legend(fontsize=8)
    for ax in (ratio, stat):
        ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    for ax, name in zip(axes[1], names, strict=False):
        s = report["drift_inputs"][name]
        ref, now = reference[name].dropna(), live[name].dropna()
        bins = np.histogram_bin_edges(pd.concat([ref, now]), bins=40) if len(ref) + len(now) else np.arange(11)
        # Step outlines rather than bars: one artist per distribution, not forty (half the time of the figure).
        ax.stairs(np.histogram(ref, bins, density=True)[0], bins, fill=True, alpha=0.5, color="tab:gray",
                  label=f"training window ({len(ref)})")  # fmt: skip
        if len(now):
            ax.stairs(np.histogram(now, bins, density=True)[0], bins, color="tab:orange", lw=1.5,
                      label=f"last live days ({len(now)})")  # fmt: skip
        known = s["psi"] is not None and s["psi"] == s["psi"]
        drifted = ("DRIFTED" if s.get("wilder", True) else "CALMER") if s["drifted"] else "stable"
        verdict = drifted if known else "too few days"
        detail = f": PSI {s['psi']:.2f}, KS {s['ks_stat']:.2f}" if known else ""
        ax.set(title=f"{name.replace('_', ' ')} {verdict}{detail}", ylabel="density")
        ax.legend(fontsize=8)
    for ax in axes[1][len(names) :]:
        ax.set_visible(False)
    fig.suptitle(f"{report['ticker']} v{report['version']}: {report['verdict']}")
    fig.tight_layout()
    return fig


def policy_chart(equity: pd.DataFrame, retrains: dict[str, list], table: pd.DataFrame, title: str) -> Any:
    """Retraining policies side by side: equity curves (retrain days marked), then MAE ratio and retrains per policy."""
    fig = plt.figure(figsize=(12, 6.5))
    grid = fig.add_gridspec(2, 2, height_ratios=(3, 2))
    top = fig.add_subplot(grid[0, :])
    for name in equity.columns:
        line = top.plot(equity.index, equity[name], lw=1, label=str(name).replace("_", " "))[0]
        days = [d for d in retrains.get(name, []) if d in equity.index]
        if days:
            top.plot(days, equity.loc[days, name], "|", ms=10, color=line.get_color())
    top.set(title=f"{title}  (| = a retrain)", ylabel="equity, net of costs")
    top.legend(fontsize=8)
    ratio, count = fig.add_subplot(grid[1, 0]), fig.add_subplot(grid[1, 1])
    y = np.arange(len(table))
    ratio.barh(y, (table["mae_ratio"] - 1.0) * 100, color=np.where(table["mae_ratio"] > 1, "tab:red", "tab:green"))
    ratio.axvline(0, color="black", lw=0.8)
    ratio.set(yticks=y, yticklabels=table["policy"], xlabel="stitched MAE vs persistence, % (below 0 beats it)")
    count.barh(y - 0.2, table["retrains"], height=0.4, color="tab:blue", label="retrains")
    count.barh(y + 0.2, table["alarms"], height=0.4, color="tab:orange", label="alarms")
    count.set(yticks=y, yticklabels=table["policy"], xlabel="count")
    count.legend(fontsize=8)
    fig.tight_layout()
    return fig
