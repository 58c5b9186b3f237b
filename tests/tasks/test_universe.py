"""A universe through the whole execution on a real registry: one whose answer is known (a planted reversal) is
found, traded past equal weight after costs and made champion; one of pure noise ranks nothing and is not; a
universe that cannot be trained is refused before anything is recorded."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from stockflow.data import synthetic
from stockflow.data.prices import to_csv_text
from stockflow.errors import DataValidationError, UniverseError
from stockflow.universe import panel, ranking
from tasks.services import tracking
from tests.helpers import all_runs, client, execute

pytestmark = pytest.mark.slow

TICKERS, DAYS = 12, 1500
SMALL = ["universe.train.units=16", "universe.train.epochs=3", "universe.train.learning_rate=0.003",
         "universe.preprocess.lookback=20", "universe.evaluate.ridge_samples=5000", "universe.portfolio.ks=[3,4]",
         "universe.portfolio.ns=[1]", "universe.portfolio.weightings=[equal]"]  # fmt: skip


def planted(root, name: str, reversion: float, seed: int, shock: float = 0.0) -> tuple[list[str], dict]:
    """A synthetic universe of closes written to data/ (as `stockflow ingest` would), and its settings."""
    frames = synthetic.universe(TICKERS, DAYS, reversion, seed=seed, shock=shock)
    names = [f"{name}{t}" for t in frames]
    for ticker, f in zip(names, frames.values(), strict=True):
        (root / "data" / f"{ticker}.csv").write_text(to_csv_text(f))
    return [f"universes.{name}=[{','.join(names)}]", *SMALL], dict(zip(names, frames.values(), strict=True))


def test_a_planted_signal_is_found_traded_past_equal_weight_and_made_champion(project_dir):
    # A reversal (which the reversal baseline knows too) and a signal no naive baseline sees (a big move of a
    # stock's own today, up or down, is followed by a gain): the gate asks a model to beat the best baseline.
    overrides, frames = planted(project_dir, "p", synthetic.PLANTED, seed=2, shock=synthetic.SHOCK)
    result = execute(project_dir, [*overrides, "universe.train.epochs=6"], universe="p")
    ev, bt = result["universe_evaluate"], result["universe_backtest"]
    model = ev["test"]["model"]["rank_ic"]
    # The oracle (who knows the rule) on the same test days: the network finds at least half of its Rank IC.
    p = panel.align(frames)
    days = np.flatnonzero(pd.DatetimeIndex(p.dates) >= pd.Timestamp(bt["start"]))[: ev["test_days"]]
    oracle = ranking.summary(ranking.daily_ic(synthetic.both_oracle(frames), p.outcome(), days, p.dates)["rank_ic"])
    assert oracle["mean"] > 0.07 and model["mean"] >= 0.5 * oracle["mean"] and model["t_stat"] >= 2
    band = ev["null_band"]  # networks on shuffled labels: a band around zero, and the model above it
    assert len(band["runs"]) == 3 and band["low"] < band["high"] and band["model_is"] == "above"
    assert not bt["holds_equal_weight"] and bt["validation"]["information_ratio"] > 1.0  # its rule beat equal weight
    assert bt["test"]["model"]["excess_return"] > 0  # beats equal weight after commission and slippage
    assert bt["test"]["model"]["cost_drag"] > 0 and bt["fills"].startswith("next close")
    assert result["universe_promote"]["promote"] and result["universe_promote"]["version"] == 1, (
        result["universe_promote"]["reason"],
        {k: v["rank_ic"]["mean"] for k, v in ev["test"].items()},
    )

    run = client(project_dir).get_run(result["run_id"])
    assert run.data.tags[tracking.UNIVERSE] == "p" and run.data.tags[tracking.TICKERS].count(",") == TICKERS - 1
    assert sorted(d.dataset.name for d in run.inputs.dataset_inputs) == sorted(frames)  # each ticker's data
    assert run.data.metrics["Headline/rank_ic"] == pytest.approx(model["mean"], abs=1e-4)
    assert {"Loss/validation", "universe_evaluate/test.model.rank_ic.mean"} <= set(run.data.metrics)
    version = client(project_dir).get_model_version_by_alias("stockflow-universe-p", "champion")
    assert float(version.tags[tracking.TEST_RANK_IC]) == pytest.approx(model["mean"])

    # The registered model: every ticker's rows in (as read from their files, with a Ticker column), each
    # (date, ticker)'s score and the portfolio's target weight out: k names, fully invested.
    model_ = tracking.Tracker(project_dir, "stockflow").load_version("universe-p", 1)
    rows = pd.concat([pd.read_csv(project_dir / "data" / f"{t}.csv").tail(200).assign(Ticker=t) for t in frames])
    out = model_.predict(rows)
    assert list(out.columns) == ["date", "ticker", "score", "weight"]
    last = out[out["date"] == out["date"].max()]
    chosen = result["universe_backtest"]["chosen"]
    assert (last["weight"] > 0).sum() == chosen["k"] and last["weight"].sum() == pytest.approx(1.0)


def test_a_universe_of_noise_ranks_nothing_and_is_not_made_champion(project_dir):
    overrides, _ = planted(project_dir, "n", 0.0, seed=5)
    result = execute(project_dir, [*overrides, "universe.evaluate.control=false"], universe="n")
    rank_ic = result["universe_evaluate"]["test"]["model"]["rank_ic"]
    assert abs(rank_ic["t_stat"]) < 2  # within two standard errors of zero
    assert not result["universe_promote"]["promote"] and "not a signal" in result["universe_promote"]["reason"]
    assert "champion" not in tracking.Tracker(project_dir, "stockflow").aliases("universe-n")
    # No rule beat equal weight on validation: the portfolio holds equal weight, and says so.
    bt = result["universe_backtest"]
    assert bt["holds_equal_weight"] and bt["chosen"]["weighting"] == "universe", bt["validation"]["information_ratio"]
    assert bt["test"]["model"]["excess_return"] == pytest.approx(0.0, abs=1e-12)
    from stockflow.reporting.summary import universe_summary

    text = universe_summary(result)
    assert "no rule beat equal weight on validation" in text and "holding equal weight" in text
    assert "model: holds equal weight" in text


def test_a_universe_that_cannot_be_trained_is_refused_naming_the_ticker_and_nothing_is_recorded(project_dir):
    with pytest.raises(UniverseError, match="universe 'nope' is not defined"):
        execute(project_dir, universe="nope")
    with pytest.raises(UniverseError, match="has 1 ticker"):
        execute(project_dir, ["universes.one=[sp500]"], universe="one")
    with pytest.raises(Exception, match="ghost.csv not found"):
        execute(project_dir, ["universes.two=[sp500,ghost]"], universe="two")
    assert all_runs(project_dir) == []  # none of them opened a run

    overrides, frames = planted(project_dir, "b", 0.0, seed=1)
    bad = project_dir / "data" / f"{next(iter(frames))}.csv"
    lines = bad.read_text().splitlines()
    lines[50] = lines[50].split(",")[0] + ",-3.0"  # a negative close
    bad.write_text("\n".join(lines) + "\n")
    with pytest.raises(DataValidationError, match=f"(?s){bad.stem}.*Close zero or negative"):
        execute(project_dir, [*overrides, "validate.universe_policy=refuse"], universe="b")
    (run,) = all_runs(project_dir)
    assert run.info.status == "FAILED" and bad.stem in run.data.tags[tracking.FAILURE]
    assert not client(project_dir).search_registered_models()


def test_the_fields_recipe_runs_as_a_universe_alpha158_rows_into_lightgbm_registered_and_served(project_dir):
    from tests.core.test_bars import market

    frames = market(8, days=600, seed=8)
    for ticker, frame in frames.items():
        (project_dir / "data" / f"{ticker}.csv").write_text(to_csv_text(frame))
    overrides = [f"universes.q=[{','.join(frames)}]", "universe.preprocess.features=alpha158",
                 "universe.preprocess.lookback=1", "universe.train.architecture=lgbm", "universe.train.epochs=50",
                 "universe.train.patience=10", "universe.evaluate.control=false",
                 "universe.evaluate.ridge_samples=2000"]  # fmt: skip
    result = execute(project_dir, overrides, universe="q")
    pre, train = result["universe_preprocess"], result["universe_train"]
    assert pre["features"] == "alpha158" and pre["train_samples"] > 2000 and not pre["close_only"]
    assert 1 <= train["epochs_run"] <= 50 and train["parameters"] > 0
    run = client(project_dir).get_run(result["run_id"])
    assert "Loss/validation" in run.data.metrics  # per-round curves, as a network's epochs
    served = tracking.Tracker(project_dir, "stockflow").load_version("universe-q", 1)
    rows = pd.concat([pd.read_csv(project_dir / "data" / f"{t}.csv").tail(120).assign(Ticker=t) for t in frames])
    out = served.predict(rows)
    last = out[out["date"] == out["date"].max()]
    assert len(last) == 8 and last["score"].notna().all()  # every ticker scored from its own 60 days of bars


def test_the_backtest_stage_chooses_its_rules_on_validation_a_wild_test_window_moves_none(project_dir):
    from tasks import kinds
    from tasks.services import catalog, execution
    from tasks.services.files import load_panel, save_panel
    from tasks.stages import universe_backtest

    overrides, _ = planted(project_dir, "w", synthetic.PLANTED, seed=3)
    ex = execute(project_dir, [*overrides, "universe.train.epochs=1", "universe.evaluate.control=false"],
                 universe="w", upto="universe_evaluate")["execution"]  # fmt: skip
    try:
        before = universe_backtest.compute(ex.ws, ex.params, "w")
        scores_file = catalog.files(kinds.STAGES["universe_evaluate"], ex.ws, "w").output("scores.npz")
        panel_file = catalog.files(kinds.STAGES["universe_preprocess"], ex.ws, "w").output("panel.npz")
        data, rng = load_panel(panel_file), np.random.default_rng(13)
        test = data.split_days["test"]
        with np.load(scores_file) as z:
            scores = {k: z[k].copy() for k in z.files}
        for values in scores.values():  # every scorer's test-window scores, wild
            values[test] = np.where(np.isnan(values[test]), np.nan, rng.normal(size=values[test].shape))
        np.savez(scores_file, **scores)
        close = data.panel.close.copy()  # and every test-window price
        close[test] *= rng.uniform(0.5, 2.0, close[test].shape)
        save_panel(dataclasses.replace(data, panel=dataclasses.replace(data.panel, close=close)), panel_file)
        after = universe_backtest.compute(ex.ws, ex.params, "w")
    finally:
        execution.abort(ex, RuntimeError("test over"))
    assert after["chosen"] == before["chosen"] and after["validation"] == before["validation"]
    assert after["test"]["model"] != before["test"]["model"]  # the shaking reached the test window
