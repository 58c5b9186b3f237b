"""A market in one command: a long panel file or a Stooq download, every ticker checked in one pass and stored in
one process, the universe defined with the data, updates taken (new days, a re-adjusted history) or refused."""

from __future__ import annotations

import io
import json
import tarfile
import zipfile

import pandas as pd
import pytest
from typer.testing import CliRunner

from flows.cli import app
from stockflow.errors import StockflowError
from tasks.commands.ingest_market import HistoryError, ingest_market
from tasks.services import dvc_repo
from tasks.services.workspace import Workspace
from tests.core.test_bars import market, planted


def long_file(frames: dict[str, pd.DataFrame], path, ticker_column: str = "ticker"):
    """The frames as one long file, lower-case headers, as exports have it."""
    long = pd.concat([f.assign(**{ticker_column: t.upper()}) for t, f in frames.items()], ignore_index=True)
    long = long.rename(columns={c: c.lower() for c in ("Date", "Open", "High", "Low", "Close", "Volume")})
    long = long[["date", ticker_column, "open", "high", "low", "close", "volume"]]
    long["date"] = long["date"].dt.strftime("%Y-%m-%d")
    if str(path).endswith(".parquet"):
        long.to_parquet(path)
    else:
        long.to_csv(path, index=False)
    return path


def stooq_text(ticker: str, frame: pd.DataFrame, native: bool = True) -> str:
    if native:
        rows = [
            f"{ticker.upper()}.US,D,{d:%Y%m%d},000000,{o},{h},{lo},{c},{v},0"
            for d, o, h, lo, c, v in frame[["Date", "Open", "High", "Low", "Close", "Volume"]].itertuples(False)
        ]
        return "<TICKER>,<PER>,<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<VOL>,<OPENINT>\n" + "\n".join(rows) + "\n"
    rows = [
        f"{d:%Y-%m-%d},{o},{h},{lo},{c},{v},0"
        for d, o, h, lo, c, v in frame[["Date", "Open", "High", "Low", "Close", "Volume"]].itertuples(False)
    ]
    return "Date,Open,High,Low,Close,Volume,OpenInt\n" + "\n".join(rows) + "\n"  # fmt: skip


@pytest.mark.slow
def test_a_panel_file_becomes_a_universe_in_one_process_with_its_bad_bars_named(project_dir, tmp_path):
    ws = Workspace.project(project_dir)
    before = (project_dir / "data.dvc").read_text()
    path = long_file(planted(), tmp_path / "all_stocks.csv.gz", "Name")
    done = ingest_market(ws, ws.load_params(), f"panel:{path}", universe="mkt")
    assert sorted(done.written) == ["t0", "t1", "t2", "t3"]
    assert (project_dir / "data" / "universes" / "mkt.txt").read_text() == "t0\nt1\nt2\nt3\n"
    assert ws.load_params().universes["mkt"] == ("t0", "t1", "t2", "t3")  # found without a name typed
    assert "sp20" in ws.load_params().universes  # params.yaml's own universes stay
    assert (project_dir / "data.dvc").read_text() != before and dvc_repo.unvalidated_changes(project_dir, {}) == []
    text = "\n".join(done.lines())
    assert "3 bar(s) masked, 1 with volume missing" in text and "universe mkt: 4 tickers" in text
    # The same download again changes nothing.
    again = ingest_market(ws, ws.load_params(), f"panel:{path}", universe="mkt")
    assert again.written == [] and sorted(again.unchanged) == ["t0", "t1", "t2", "t3"]


def test_without_a_universe_a_bad_bar_is_refused_and_nothing_is_written(project_dir, tmp_path):
    ws = Workspace.project(project_dir)
    before = sorted(p.name for p in (project_dir / "data").iterdir())
    path = long_file(planted(), tmp_path / "all.parquet")
    with pytest.raises(StockflowError, match="(?s)refused, data/ and data.dvc are unchanged.*Close >= Low"):
        ingest_market(ws, ws.load_params(), f"panel:{path}")
    with pytest.raises(StockflowError, match="refused"):
        ingest_market(ws, ws.load_params(["validate.universe_policy=refuse"]), f"panel:{path}", universe="mkt")
    assert sorted(p.name for p in (project_dir / "data").iterdir()) == before


@pytest.mark.parametrize("packed", ["folder", "zip", "tar.gz"])
def test_a_stooq_download_is_read_as_it_comes(project_dir, tmp_path, packed):
    ws = Workspace.project(project_dir)
    files = {f"data/daily/us/nasdaq stocks/{t}.us.txt": stooq_text(t, f, native=(t != "t3"))
             for t, f in market().items()}  # fmt: skip
    if packed == "folder":
        for name, text in files.items():
            (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_path / name).write_text(text)
        where = tmp_path / "data"
    elif packed == "zip":
        where = tmp_path / "d_us_txt.zip"
        with zipfile.ZipFile(where, "w") as z:
            for name, text in files.items():
                z.writestr(name, text)
    else:
        where = tmp_path / "d_us_txt.tar.gz"
        with tarfile.open(where, "w:gz") as t:
            for name, text in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(text.encode())
                t.addfile(info, io.BytesIO(text.encode()))
    done = ingest_market(ws, ws.load_params(), f"stooq:{where}", universe="nq", tickers={"t1", "t3", "t0"})
    assert sorted(done.written) == ["t0", "t1", "t3"] and done.checked.counts()["bars_masked"] == 0
    stored = pd.read_csv(project_dir / "data" / "t3.csv", parse_dates=["Date"])
    expected = market()["t3"]
    assert list(stored.columns) == ["Date", "Open", "High", "Low", "Close", "Volume"]
    pd.testing.assert_series_equal(stored["Close"], expected["Close"], check_names=False)


def test_updates_add_new_days_replace_a_re_adjusted_history_and_refuse_any_other_change(project_dir, tmp_path):
    ws = Workspace.project(project_dir)
    full = market(2, days=420)
    first = {t: f.iloc[:380] for t, f in full.items()}
    ingest_market(ws, ws.load_params(), f"panel:{long_file(first, tmp_path / 'a.csv')}", universe="two")
    # A newer download: 40 more days, and t1 re-adjusted by the provider for a 2:1 split on day 300.
    newer = {t: f.copy() for t, f in full.items()}
    newer["t1"].loc[:299, ["Open", "High", "Low", "Close"]] *= 0.5
    done = ingest_market(ws, ws.load_params(), f"panel:{long_file(newer, tmp_path / 'b.csv')}", universe="two")
    lines = "\n".join(done.lines())
    split_day = full["t1"]["Date"].iloc[300].date()
    assert f"t1: history re-adjusted by the provider: bars before {split_day} x 0.5; replaced" in lines
    assert "t0: 40 new day(s)" in lines
    stored = pd.read_csv(project_dir / "data" / "t1.csv")
    assert len(stored) == 420 and stored["Close"].iloc[0] == pytest.approx(full["t1"]["Close"].iloc[0] * 0.5)
    # A past that differs otherwise: refused, naming the dates, unless --replace.
    edited = {t: f.copy() for t, f in newer.items()}
    edited["t0"].loc[[10, 200], "Close"] *= 1.02
    held = (project_dir / "data" / "t0.csv").read_text()
    with pytest.raises(HistoryError, match="t0: 2 past bar.s. differ .* not by one factor"):
        ingest_market(ws, ws.load_params(), f"panel:{long_file(edited, tmp_path / 'c.csv')}", universe="two")
    assert (project_dir / "data" / "t0.csv").read_text() == held
    done = ingest_market(ws, ws.load_params(), f"panel:{tmp_path / 'c.csv'}", universe="two", replace=True)
    assert "t0: history replaced (--replace): 2 bar(s) differed" in "\n".join(done.lines())


def test_validate_lists_every_finding_of_a_market_with_its_ticker_date_rule_and_values(project_dir, tmp_path):
    path = long_file(planted(), tmp_path / "all.csv", "symbol")
    out = CliRunner().invoke(app, ["validate", f"panel:{path}", "--json"])
    assert out.exit_code == 1, out.output
    report = json.loads(out.output)[0]
    assert report["bars_masked"] == 3 and report["tickers"] == 4
    decimal = next(f for f in report["findings"] if f["rule"] == "Close >= Low")
    assert decimal["ticker"] == "t0" and decimal["date"].startswith("2015-05-22") and decimal["action"] == "masked"
    assert decimal["close"] == pytest.approx(planted()["t0"].loc[100, "Close"])
    text = CliRunner().invoke(app, ["validate", f"panel:{path}"]).output
    assert "masked         High >= Low: 1 bar(s) of 1 ticker(s) (most: t0 1; first: t0 2015-07-31)" in text


def test_the_drop_folder_takes_a_markets_download_for_its_universe(project_dir, tmp_path):
    from tasks.commands.ingest_market import market_downloads, take_market_downloads

    ws = Workspace.project(project_dir)
    full = market(3, days=420)
    first = long_file({t: f.iloc[:400] for t, f in full.items()}, tmp_path / "a.csv")
    ingest_market(ws, ws.load_params(), f"panel:{first}", universe="mkt")
    drop = project_dir / "incoming"
    drop.mkdir()
    long_file(full, drop / "mkt-2016-08-19.csv.gz")
    (drop / "mkt.csv").write_text("a ticker's file, not a market's")
    (drop / "other.zip").write_bytes(b"")
    assert [p.name for p, _ in market_downloads(drop, "mkt")] == ["mkt-2016-08-19.csv.gz"]
    taken = take_market_downloads(ws, ws.load_params(), "mkt")
    assert taken["files"] == ["mkt-2016-08-19.csv.gz"] and taken["new_rows"] == 3 * 20
    assert (drop / "taken" / "mkt-2016-08-19.csv.gz").is_file() and len(
        pd.read_csv(project_dir / "data" / "t0.csv")
    ) == 420
    # A download whose past differs is refused and moved aside with its reason; nothing is written.
    edited = {t: f.copy() for t, f in full.items()}
    edited["t1"].loc[[5, 9], "Close"] *= 1.03
    long_file(edited, drop / "mkt-2016-08-20.csv.gz")
    with pytest.raises(HistoryError, match="moved to incoming/rejected/"):
        take_market_downloads(ws, ws.load_params(), "mkt")
    assert (drop / "rejected" / "mkt-2016-08-20.csv.gz.report.md").is_file()


def test_a_market_that_cannot_be_read_is_refused_in_one_line_naming_the_file(project_dir, tmp_path):
    no_ticker = tmp_path / "bars.csv"
    no_ticker.write_text("date,open,high,low,close,volume\n2020-01-02,1,1,1,1,1\n")
    before = (project_dir / "data.dvc").read_text()
    for spec, said in ((f"panel:{no_ticker}", "no ticker column"), (f"stooq:{tmp_path / 'none.zip'}", "not found"),
                       (f"stooq:{no_ticker}", "not a folder, a .zip or a .tar.gz")):  # fmt: skip
        out = CliRunner().invoke(app, ["ingest", "--source", spec, "--universe", "u"])
        assert out.exit_code == 2 and said in out.output and "Traceback" not in out.output, out.output
    out = CliRunner().invoke(app, ["ingest", "--source", f"panel:{long_file(market(2), tmp_path / 'm.csv')}",
                                   "--tickers", "t0,zzz", "--universe", "u"])  # fmt: skip
    assert out.exit_code == 2 and "has no bars for zzz" in out.output
    assert (project_dir / "data.dvc").read_text() == before and not (project_dir / "data" / "universes").exists()
