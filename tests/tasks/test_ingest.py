"""Data in: validated first, recorded as a DVC version only when everything that changed was validated."""

from __future__ import annotations

import pandas as pd
import pytest

from stockflow.data.prices import to_csv_text
from stockflow.errors import DataValidationError
from tasks.commands.ingest import drop_files, ingest
from tasks.services import dvc_repo
from tasks.services.workspace import Workspace


def test_drop_files_belong_to_the_longest_ticker_that_names_them(tmp_path):
    for name in ("sp500.csv", "sp500-2018-12.csv", "sp500_x.csv", "sp500x.csv", "sp500-b.csv", "msft.csv", "notes.txt"):
        (tmp_path / name).write_text("x")
    known = {"sp500", "sp500-b", "msft"}
    assert [p.name for p in drop_files(tmp_path, "sp500", known)] == ["sp500-2018-12.csv", "sp500.csv", "sp500_x.csv"]
    assert [p.name for p in drop_files(tmp_path, "sp500-b", known)] == ["sp500-b.csv"]
    assert drop_files(tmp_path / "none", "sp500", known) == []


@pytest.mark.slow
def test_a_data_version_is_not_recorded_over_an_unvalidated_change(project_dir, tmp_path, small_prices):
    ws = Workspace.project(project_dir)
    recorded = (project_dir / "data.dvc").read_text()
    (project_dir / "data" / "junk.csv").write_text("Date,Close\nnot a date,x\n")  # dropped in by hand
    good = tmp_path / "acme.csv"
    good.write_text(to_csv_text(small_prices))
    ingest(ws, ws.load_params(), f"csv:{good}", "acme")
    assert (project_dir / "data" / "acme.csv").exists()
    assert (project_dir / "data.dvc").read_text() == recorded  # junk.csv would have come with it
    assert dvc_repo.unvalidated_changes(project_dir, {}) == ["acme.csv", "junk.csv"]

    (project_dir / "data" / "junk.csv").unlink()
    ingest(ws, ws.load_params(), f"csv:{good}", "acme")
    assert (project_dir / "data.dvc").read_text() != recorded and dvc_repo.unvalidated_changes(project_dir, {}) == []


@pytest.mark.slow
def test_ingest_refuses_bad_data_and_writes_nothing(project_dir, tmp_path, small_prices):
    bad = small_prices.astype({"Volume": object})
    bad.loc[5, "Volume"] = "n/a"
    path = tmp_path / "acme.csv"
    path.write_text(to_csv_text(bad))
    ws = Workspace.project(project_dir)
    with pytest.raises(DataValidationError, match="Volume"):
        ingest(ws, ws.load_params(), f"csv:{path}", "acme")
    assert not (project_dir / "data" / "acme.csv").exists()


def test_the_drop_folder_takes_new_bars_as_downloaded_newest_first(project_dir, sp500):
    from tasks.commands.ingest import take_new_bars
    from tests.core.test_formats import nasdaq_com

    ws = Workspace.project(project_dir)
    params = ws.load_params()
    held = (project_dir / "data" / "sp500.csv").read_text()
    last = sp500.iloc[-30:].copy()  # the sample ends with 2018: these bars, dated as January 2019's
    last["Date"] = pd.bdate_range("2019-01-02", periods=len(last))
    last[["Open", "High", "Low", "Close"]] = last[["Open", "High", "Low", "Close"]].round(2)
    drop = project_dir / params.data.drop_folder
    drop.mkdir(parents=True, exist_ok=True)
    (drop / "sp500-2019-01.csv").write_text(nasdaq_com(last))

    taken = take_new_bars(ws, params, "sp500")
    assert taken["new_rows"] == len(last) and taken["last_date"] == f"{last['Date'].iloc[-1]:%Y-%m-%d}"
    assert "newest first: reversed to oldest first" in " ".join(taken["normalised"]["sp500-2019-01.csv"])
    now = (project_dir / "data" / "sp500.csv").read_text()
    assert now.startswith(held) and now.count("\n") == held.count("\n") + len(last)
