"""The interval table: the champion's next-close interval beside the Gaussian and GARCH(1,1) intervals.

Series: the S&P 500 and NASDAQ samples (`arch`), and three tickers written out as Yahoo Finance
downloads and read back through the product's own reader and data gate: GOOG (backtesting.py's
file), IBM and MSFT (bokeh-sampledata, 2000-2013; MSFT's OHLC adjusted by its Adj Close, as its
2003 split would otherwise be refused by the gate). Each is run as the pipeline runs it: default
params, its own split, the interval calibrated on the validation window and scored on the test
window; the risk-sized strategy beside Buy-and-Hold on the same bars with the same costs.

Then a champion trained on the S&P 500 through 2012-12-31 meets the next 18 calm months, forecast
by the same `Forecaster.forecast` the registered model runs: its live coverage and Kupiec's test.
"""

from __future__ import annotations

import gzip
import io
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd

LIVE = ("2012-12-31", "2014-06-30")


def downloads(folder: Path) -> dict[str, Path]:
    """GOOG, IBM and MSFT written as Yahoo Finance CSVs (Date,Open,High,Low,Close,Adj Close,Volume)."""
    import backtesting
    import bokeh_sampledata

    files = {}
    goog = pd.read_csv(Path(backtesting.__file__).parent / "test" / "GOOG.csv", index_col=0, parse_dates=True)
    goog = goog.rename_axis("Date").reset_index().assign(**{"Adj Close": goog["Close"].to_numpy()})
    stocks = pd.read_csv(io.BytesIO(gzip.decompress((Path(bokeh_sampledata.__file__).parent / "_data" /
                                                     "stocks.csv.gz").read_bytes())))  # fmt: skip
    frames = {"goog": goog}
    for ticker in ("IBM", "MSFT"):
        one = stocks[stocks["Ticker"] == ticker].drop(columns="Ticker").reset_index(drop=True)
        if ticker == "MSFT":  # unadjusted 2:1 split on 2003-02-18: adjust OHLC by Adj Close / Close
            factor = one["Adj Close"] / one["Close"]
            one[["Open", "High", "Low", "Close"]] = one[["Open", "High", "Low", "Close"]].mul(factor, axis=0)
        frames[ticker.lower()] = one
    for name, frame in frames.items():
        path = folder / f"{name}.csv"
        frame[["Date", "Open", "High", "Low", "Close", "Adj Close", "Volume"]].to_csv(path, index=False)
        files[name] = path
    return files


def series() -> dict[str, pd.DataFrame]:
    from stockflow.data.validation import validate_prices
    from tasks import sources
    from tasks.services.files import read_download
    from tasks.services.workspace import Workspace

    project = Workspace.project(Path.cwd())
    params = project.load_params()
    out = {name: sources.load(f"sample:{name}")[0].prices.frame for name in ("sp500", "nasdaq")}
    with tempfile.TemporaryDirectory() as tmp:
        for name, path in downloads(Path(tmp)).items():
            frame = read_download(path).frame
            report = validate_prices(frame, project.load_suite(params.validate_.suite), params.validate_, str(path))
            if not report.success:
                raise SystemExit(f"{name}: refused by the data gate: {report.errors[0].line()}")
            out[name] = frame
    return out


def run_pipeline(prices: pd.DataFrame, params) -> tuple[dict, dict, float, float, object]:
    """Train, forecast, calibrate and score as the stages do; the interval scores, the strategies, the seconds."""
    from stockflow.strategies import trade_forecasts
    from stockflow.ticker import evaluation
    from stockflow.ticker.dataset import make_dataset
    from stockflow.ticker.forecaster import fit_forecaster

    data = make_dataset(prices, params.preprocess)
    started = time.perf_counter()
    forecaster, _ = fit_forecaster(data, params.train)
    trained = time.perf_counter() - started
    pred = evaluation.forecasts(data, forecaster, prices, params.evaluate.sma_window)
    started = time.perf_counter()
    interval = evaluation.calibrate_interval(data, prices, pred, params.evaluate.interval_level)
    pred = evaluation.with_intervals(pred, prices, interval)
    scores = evaluation.score_intervals(pred, interval)
    calibrated = time.perf_counter() - started
    strategies = trade_forecasts(prices, pred, params.backtest).metrics
    scores["days"] = int((pred["split"] == "test").sum())
    return scores, strategies, trained, calibrated, replace(forecaster, interval=interval)


def main() -> None:
    from stockflow.champion import monitoring
    from tasks.services.workspace import Workspace

    params = Workspace.project(Path.cwd()).load_params()
    level = params.evaluate.interval_level
    print(f"\nnext-close {level:.0%} intervals on each series' test window (calibrated on its validation window)")
    print(f"  {'series':<8}{'days':>6}  {'coverage: model':>15}{'gauss.':>8}{'garch':>8}   "
          f"{'Winkler: model':>14}{'gauss.':>9}{'garch':>9}{'ratio':>7}   {'Sharpe: sized':>13}{'b&h':>7}"
          f"{'calib. s':>9}{'train s':>8}")  # fmt: skip
    prices_by_name = series()
    for name, prices in prices_by_name.items():
        scores, strat, trained, calibrated, _ = run_pipeline(prices, params)
        m, n, g = scores["model"], scores["gaussian"], scores["garch"]
        sized, hold = strat["sized"]["test"], strat["buy_and_hold"]
        print(f"  {name:<8}{scores['days']:>6}  {m['coverage']:>15.1%}{n['coverage']:>8.1%}"
              f"{g['coverage']:>8.1%}   {m['winkler']:>14.2f}{n['winkler']:>9.2f}{g['winkler']:>9.2f}"
              f"{scores['winkler_ratio']:>7.3f}   {sized['sharpe']:>13.2f}{hold['sharpe']:>7.2f}"
              f"{calibrated:>9.2f}{trained:>8.1f}")  # fmt: skip
    print("  (ratio: the model's Winkler score over the better baseline's; Sharpe net of costs, on the test window)")

    sp500 = prices_by_name["sp500"]
    through, until = (pd.Timestamp(d) for d in LIVE)
    history = sp500[sp500["Date"] <= through].reset_index(drop=True)
    _, _, _, _, champion = run_pipeline(history, params)
    seen = sp500[sp500["Date"] <= until].reset_index(drop=True)
    days = monitoring.live_days(monitoring.day_frame(seen, champion.forecast(seen)), through)
    found = monitoring.coverage_test(days, level, params.monitor.coverage_alpha)
    print(f"\nlive: a champion trained on the S&P 500 through {LIVE[0]}, meeting {len(days)} days to {LIVE[1]}: "
          f"coverage {found['live_coverage']:.1%}, Kupiec p {found['coverage_pvalue']:.3f}, "
          f"{'MISCOVERED' if found['miscovered'] else 'covering'}")  # fmt: skip
