"""Universes whose answer is known, for tests and benchmarks: a planted cross-sectional signal, or pure noise.

Every stock's daily log return is a common market move plus its own (idiosyncratic) move.
With `reversion` > 0, tomorrow's idiosyncratic move leans against the sum of its last five:
r_idio[t+1] = -reversion x sum(r_idio[t-4..t]) / 5 + noise. Ranking the stocks each day by minus
that sum (the oracle, who knows the rule) then has a Rank IC with the next day's returns of about
0.1 at `reversion` 0.3 (0.16 at 0.5); at 0 the universe is noise and nothing can be ranked.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PLANTED = 0.3  # the reversion that gives the oracle a Rank IC of about 0.1
SHOCK = 0.5  # the shock that gives its oracle a Rank IC of about 0.25


def universe(tickers: int, days: int, reversion: float = PLANTED, seed: int = 0, start: str = "2000-01-03",
             with_open: bool = False, shock: float = 0.0) -> dict[str, pd.DataFrame]:  # fmt: skip
    """`tickers` price frames (Date, Close; Open too with `with_open`) of `days` business days.

    `shock` > 0 plants a signal no naive baseline sees: a stock that moved a lot on its own today, up or down,
    gains the day after tomorrow, `shock` x (|today's idiosyncratic move| - its mean): a decision at today's close
    fills at tomorrow's close (closes only), so that is the day its label measures. It is nonlinear in the returns,
    so neither reversal, momentum nor a linear model of the windows ranks it; a network can."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, days)
    beta = rng.uniform(0.6, 1.4, tickers)
    idio = np.zeros((days, tickers))
    noise = rng.normal(0, 0.015, (days, tickers))
    mean_abs = 0.015 * np.sqrt(2 / np.pi)  # E|noise|
    for t in range(days):
        past = idio[max(0, t - 5) : t].sum(axis=0) / 5 if t else 0.0
        jolt = shock * (np.abs(idio[t - 2]) - mean_abs) if t > 1 else 0.0
        idio[t] = -reversion * past + jolt + noise[t]
    returns = market[:, None] * beta + idio
    close = 50 * np.exp(np.cumsum(returns, axis=0))
    dates = pd.bdate_range(start, periods=days)
    frames = {}
    for i in range(tickers):
        frame = pd.DataFrame({"Date": dates, "Close": close[:, i]})
        if with_open:  # opens halfway between yesterday's close and today's, in log terms
            previous = np.concatenate([[close[0, i]], close[:-1, i]])
            frame.insert(1, "Open", np.sqrt(previous * close[:, i]))
        frames[f"s{i:03d}"] = frame
    return frames


def oracle(frames: dict[str, pd.DataFrame], reversion: float = PLANTED) -> np.ndarray:
    """(T, N) the score of whoever knows the rule: minus each stock's idiosyncratic move over its last five days
    (the equal-weight market move stands in for the common one)."""
    close = pd.DataFrame({t: f["Close"].to_numpy() for t, f in frames.items()})
    r = np.log(close).diff()
    idio = r.sub(r.mean(axis=1), axis=0)
    return -(idio.rolling(5).sum().to_numpy()) * np.sign(reversion or 1.0)


def both_oracle(frames: dict[str, pd.DataFrame], reversion: float = PLANTED, shock: float = SHOCK) -> np.ndarray:
    """(T, N) the score of whoever knows both rules: tomorrow's expected idiosyncratic move."""
    close = pd.DataFrame({t: f["Close"].to_numpy() for t, f in frames.items()})
    r = np.log(close).diff()
    idio = r.sub(r.mean(axis=1), axis=0)
    return (-reversion * idio.rolling(5).sum() / 5 + shock * idio.abs()).to_numpy()
