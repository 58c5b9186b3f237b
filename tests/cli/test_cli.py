"""The `stockflow` command as a user meets it: exit codes, messages, nothing written on refusal."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flows.cli import app
from stockflow.data.prices import to_csv_text
from tests.helpers import every_run

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def invoke(*args: str):
    return runner.invoke(app, [*args, "--root", str(REPO)] if args[0] == "validate" else list(args))


def test_help_answers_every_command():
    for cmd in ("ingest", "validate", "run", "backtest", "ui"):
        result = runner.invoke(app, [cmd, "--help"])
        assert result.exit_code == 0 and "Usage" in result.output


def test_help_paragraphs_wrap_at_the_terminal_not_at_the_source_lines(monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    lines = runner.invoke(app, ["run", "--help"]).output.splitlines()
    # The docstring's line ends after "passes"; at 200 columns the paragraph goes on on the same line.
    assert any("becomes `champion` if it passes the gate in params.yaml" in line for line in lines), lines


def test_validate_clean_file_exits_0(tmp_path, small_prices):
    path = tmp_path / "good.csv"
    path.write_text(to_csv_text(small_prices))
    result = invoke("validate", str(path))
    assert result.exit_code == 0, result.output
    assert "PASSED" in result.output


def test_validate_broken_file_exits_1_naming_rule_column_and_dates(tmp_path, small_prices):
    bad = small_prices.copy()
    bad.loc[7, "High"] = bad.loc[7, "Low"] - 1
    path = tmp_path / "bad.csv"
    path.write_text(to_csv_text(bad))
    result = invoke("validate", str(path))
    assert result.exit_code == 1
    assert "High below Low [High, Low]: 1 row(s)" in result.output
    assert bad.loc[7, "Date"].strftime("%Y-%m-%d") in result.output


def test_a_finding_says_what_is_wrong_and_a_provider_adjusted_file_is_not_warned_of(tmp_path, small_prices):
    plain = tmp_path / "msft.csv"  # as Stooq's site exports one ticker: no Adj Close
    plain.write_text(to_csv_text(small_prices.drop(columns=["Adj Close"])))
    out = invoke("validate", str(plain)).output
    assert "WARNING  no Adj Close column: the prices may not be adjusted for splits and dividends" in out
    assert "is present" not in out
    stooq = tmp_path / "msft.us.txt"  # Stooq's bulk layout: adjusted by the provider
    rows = [f"MSFT.US,D,{d:%Y%m%d},000000,{o},{h},{lo},{c},{v},0" for d, o, h, lo, c, v in
            small_prices[["Date", "Open", "High", "Low", "Close", "Volume"]].itertuples(index=False)]  # fmt: skip
    stooq.write_text("<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n" + "\n".join(rows))
    out = invoke("validate", str(stooq)).output
    assert "WARNING" not in out and "prices adjusted for splits and dividends by the provider (Stooq)" in out


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "file not found"),
        (b"", "file is empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00binary", "binary"),
        (b"Date;Open;High;Low;Close;Volume\n2020-01-02;1;2;0.5;1.5;10\n", "separated by ';'"),
    ],
)
def test_unreadable_files_exit_2_without_traceback(tmp_path, content, message):
    path = tmp_path / "prices.csv"
    if content is not None:
        path.write_bytes(content)
    result = invoke("validate", str(path))
    assert result.exit_code == 2
    assert message in result.output
    assert "Traceback" not in result.output


def _digest(root: Path) -> dict[str, str]:
    files = [*sorted((root / "data").glob("*")), root / "data.dvc"]
    return {str(p): hashlib.md5(p.read_bytes()).hexdigest() for p in files}


def test_ingest_refuses_a_failing_file_and_writes_nothing(project_dir, tmp_path, small_prices):
    bad = small_prices.copy()
    bad.loc[3, "Close"] = -1.0
    path = tmp_path / "acme.csv"
    path.write_text(to_csv_text(bad))
    before = _digest(project_dir)
    result = runner.invoke(app, ["ingest", "--source", f"csv:{path}", "--ticker", "acme", "--root", str(project_dir)])
    assert result.exit_code == 1
    assert "Close zero or negative" in result.output and "data/ and data.dvc are unchanged" in result.output
    assert _digest(project_dir) == before
    assert not (project_dir / "data" / "acme.csv").exists()


def test_ingest_records_a_new_data_version(project_dir, tmp_path, small_prices):
    path = tmp_path / "acme.csv"
    path.write_text(to_csv_text(small_prices.drop(columns=["Adj Close"])))
    before = (project_dir / "data.dvc").read_text()
    result = runner.invoke(app, ["ingest", "--source", f"csv:{path}", "--ticker", "acme", "--root", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert (project_dir / "data" / "acme.csv").exists()
    assert (project_dir / "data.dvc").read_text() != before


def _backtest_files(tmp_path, prices, signals):
    p, s = tmp_path / "prices.csv", tmp_path / "signals.csv"
    p.write_text(to_csv_text(prices))
    signals.to_csv(s, index=False)
    return str(p), str(s)


def _random_signals(prices, seed=0):
    import numpy as np
    import pandas as pd

    values = np.random.default_rng(seed).choice([-1, 0, 1], len(prices))
    return pd.DataFrame({"Date": prices["Date"].dt.strftime("%Y-%m-%d"), "signal": values})


def test_backtest_command_prints_json_matching_the_engine(tmp_path, small_prices):
    import json

    from stockflow.trading.backtest import Rules, run_backtest

    sig = _random_signals(small_prices)
    p, s = _backtest_files(tmp_path, small_prices, sig)
    result = runner.invoke(app, ["backtest", "--prices", p, "--signals", s, "--stop-loss", "0.03", "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.output)
    expected = run_backtest(small_prices, sig["signal"], Rules(10_000, 0.001, 0.0005, 0.03, None, allow_short=True))
    assert metrics["strategy"]["final_equity"] == pytest.approx(expected.equity.iloc[-1])
    assert metrics["strategy"]["trades"] == len(expected.trades) > 10
    assert metrics["buy_and_hold"]["trades"] == 1


@pytest.mark.parametrize(
    ("defect", "message"),
    [
        ("signal_out_of_range", "column 'signal': signals must be -1, 0 or 1 in 1 row(s): line 12: '2'"),
        ("nan_price", "column 'Close': no price on 1 day(s)"),
        ("missing_day", "1 trading days of"),
        ("extra_day", "1 dates with no bar in"),
    ],
)
def test_backtest_command_refuses_bad_inputs_by_name(tmp_path, small_prices, defect, message):
    import pandas as pd

    prices, sig = small_prices.copy(), _random_signals(small_prices)
    if defect == "signal_out_of_range":
        sig.loc[10, "signal"] = 2
    elif defect == "nan_price":
        prices.loc[20, "Close"] = float("nan")
    elif defect == "missing_day":
        sig = sig.drop(index=30)
    else:
        sig = pd.concat([sig, pd.DataFrame({"Date": ["2017-12-25"], "signal": [1]})]).sort_values("Date")
    p, s = _backtest_files(tmp_path, prices, sig)
    result = runner.invoke(app, ["backtest", "--prices", p, "--signals", s])
    assert result.exit_code == 2
    assert message in result.output


@pytest.mark.parametrize("ticker", ["../../evil", "../evil", "/tmp/evil", "a/b", "..", ".hidden", "", "a b", "x" * 65])
def test_a_ticker_that_is_not_a_name_is_refused_and_nothing_is_written(project_dir, tmp_path, small_prices, ticker):
    path = tmp_path / "f.csv"
    path.write_text(to_csv_text(small_prices))
    before = sorted(p for p in tmp_path.rglob("*"))
    for args in (["ingest", "--source", f"csv:{path}", "--ticker", ticker], ["run", "--ticker", ticker],
                 ["predict", "--ticker", ticker], ["runs", "--ticker", ticker]):  # fmt: skip
        result = runner.invoke(app, [*args, "--root", str(project_dir)])
        assert result.exit_code == 2, (args, result.output)
        assert "is not a ticker name" in result.output and len(result.output.strip().splitlines()) == 1
        assert "Traceback" not in result.output
    assert sorted(p for p in tmp_path.rglob("*")) == before
    assert not (project_dir / "evil").exists() and not (tmp_path / "evil").exists()


def test_a_file_name_that_is_not_a_ticker_needs_one(project_dir, tmp_path, small_prices):
    path = tmp_path / "my prices.csv"
    path.write_text(to_csv_text(small_prices))
    result = runner.invoke(app, ["ingest", "--source", f"csv:{path}", "--root", str(project_dir)])
    assert result.exit_code == 2 and "is not a ticker name" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "is empty"),
        ("train: [epochs: 3\n", "is not valid YAML (line"),
        ("- just\n- a list\n", "must be a mapping"),
        ("train:\n  epoch: 3\n", "train.epoch"),
        ("data:\n  tickers: [../evil]\n", "is not a ticker name"),
        ("preset: papr\n", "preset 'papr' is not defined"),
        ("evaluate:\n  interval_level: 1.5\n", "evaluate.interval_level: Input should be less than 1"),
        ("evaluate:\n  interval_level: 0\n", "evaluate.interval_level: Input should be greater than 0"),
    ],
)
def test_broken_params_yaml_is_one_clear_message(tmp_path, content, message):
    (tmp_path / "params.yaml").write_text(content)
    for args in (["run"], ["predict"], ["runs"], ["validate", str(tmp_path / "x.csv")]):
        result = runner.invoke(app, [*args, "--root", str(tmp_path)])
        assert result.exit_code == 2, (args, result.output)
        assert message in result.output and "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["params.yaml"]  # no store, no outputs


def test_ingest_reads_a_download_as_is_and_says_what_it_normalised(project_dir, tmp_path, small_prices):
    from tests.core.test_formats import nasdaq_com

    bars = small_prices.copy()
    bars[["Open", "High", "Low", "Close"]] = bars[["Open", "High", "Low", "Close"]].round(2)
    path = tmp_path / "HistoricalData_1700000000000.csv"  # as nasdaq.com names it
    path.write_text(nasdaq_com(bars))
    result = runner.invoke(app, ["ingest", "--source", f"csv:{path}", "--ticker", "spx", "--root", str(project_dir)])
    assert result.exit_code == 0, result.output
    assert "normalised: $ removed: Open, High, Low, Close" in result.output
    assert "normalised: newest first: reversed to oldest first (2016-01-04 .. 2018-12-31)" in result.output
    assert (project_dir / "data" / "spx.csv").read_text() == to_csv_text(bars.drop(columns=["Adj Close"]))


def test_a_tracking_server_that_does_not_answer_stops_a_run_before_anything_starts(project_dir):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        uri = f"http://127.0.0.1:{s.getsockname()[1]}"
    before = sorted(p.name for p in project_dir.iterdir())
    for args in (["run"], ["run", "--tickers", "sp500"], ["predict"], ["monitor"]):
        result = CliRunner(env={"MLFLOW_TRACKING_URI": uri}).invoke(app, [*args, "--root", str(project_dir)])
        assert result.exit_code == 1, (args, result.output)
        assert f"the MLflow tracking server {uri} does not answer" in result.output, args
        assert "Traceback" not in result.output
    assert sorted(p.name for p in project_dir.iterdir()) == before  # no workspace, no outputs, no local store


@pytest.mark.parametrize("command", ["run", "predict", "monitor", "serve", "tune"])
def test_a_ticker_and_a_universe_at_once_are_refused_in_one_line(project_dir, command):
    """The options name the kind of subject: one of them, or the command would have to guess."""
    result = runner.invoke(app, [command, "--ticker", "sp500", "--universe", "sp20", "--root", str(project_dir)])
    assert result.exit_code == 2, result.output
    assert "give" in result.output and "--universe" in result.output and "Traceback" not in result.output
    assert every_run(project_dir) == []  # nothing trained, nothing recorded


@pytest.mark.parametrize("command", ["predict", "monitor", "serve"])
def test_a_universe_name_that_is_not_a_name_is_refused_in_one_line(project_dir, command):
    result = runner.invoke(app, [command, "--universe", "../sp20", "--root", str(project_dir)])
    assert result.exit_code == 2 and "Traceback" not in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1
