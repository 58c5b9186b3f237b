"""Figures people would rather look at than read. Each returns a matplotlib Figure."""

from __future__ import annotations

from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402


def price_chart(prices: pd.DataFrame, title: str) -> Any:
    """Open in green and Close in red over time (the paper's Figure 1)."""
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(prices["Date"], prices["Open"], color="tab:green", lw=0.8, label="Open")
    ax.plot(prices["Date"], prices["Close"], color="tab:red", lw=0.8, label="Close", alpha=0.8)
    ax.set(title=title, xlabel="date", ylabel="price")
    ax.legend()
    fig.tight_layout()
    return fig


def loss_curves(history: pd.DataFrame) -> Any:
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.5))
    for ax, metric in zip(axes, ("loss", "mae"), strict=False):
        ax.plot(history["epoch"], history[metric], label=f"train {metric}")
        if f"val_{metric}" in history:
            ax.plot(history["epoch"], history[f"val_{metric}"], label=f"validation {metric}")
        ax.set(title=metric.upper() + (" (loss)" if metric == "loss" else ""), xlabel="epoch")
        ax.legend()
    fig.tight_layout()
    return fig


def predicted_vs_actual(pred: pd.DataFrame, title: str) -> Any:
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(pred["target_date"], pred["actual"], color="black", lw=0.9, label="actual close")
    ax.plot(pred["target_date"], pred["forecast"], color="tab:blue", lw=0.9, label="model forecast")
    ax.set(title=title, xlabel="date", ylabel="price")
    ax.legend()
    fig.tight_layout()
    return fig


def equity_vs_benchmark(equity: pd.Series, benchmark: pd.Series, title: str) -> Any:
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(11, 5.5), sharex=True, height_ratios=(3, 1))
    top.plot(equity.index, equity, label="strategy", color="tab:blue")
    top.plot(benchmark.index, benchmark, label="buy and hold", color="tab:gray")
    top.set(title=title, ylabel="equity")
    top.legend()
    for series, color in ((equity, "tab:blue"), (benchmark, "tab:gray")):
        dd = series / series.cummax() - 1.0
        bottom.fill_between(dd.index, dd, 0, color=color, alpha=0.35)
    bottom.set(ylabel="drawdown", xlabel="date")
    fig.tight_layout()
    return fig


def trades_on_price(prices: pd.DataFrame, trades: pd.DataFrame, title: str) -> Any:
    fig, ax = plt.subplots(figsize=(11, 4))
    ax.plot(prices["Date"], prices["Close"], color="black", lw=0.7, label="close")
    if len(trades):
        ax.scatter(trades["entry_date"], trades["entry_price"], marker="^", color="tab:green", s=18, label="entry")
        ax.scatter(trades["exit_date"], trades["exit_price"], marker="v", color="tab:red", s=18, label="exit")
    ax.set(title=title, xlabel="date", ylabel="price")
    ax.legend()
    fig.tight_layout()
    return fig


def search_heatmap(grid: pd.DataFrame, objective: str, threshold: float, title: str) -> Any:
    """Objective over stop-loss x take-profit at the chosen entry threshold ("off" where a level is null)."""
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
        top.plot(equity.index, equity[name], label=name.replace("_", " "), lw=1)
        bottom.plot(equity.index, equity[name] / equity[name].cummax() - 1.0, lw=0.8)
    top.set(title=title, ylabel="equity")
    top.legend()
    bottom.set(ylabel="drawdown", xlabel="date")
    fig.tight_layout()
    return fig
