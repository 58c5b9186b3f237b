"""A model's artifact: the same parts make the same bytes, whenever they are packed, and come back as packed."""

import io
import zipfile

from stockflow import archive


def test_the_same_parts_make_the_same_bytes_and_come_back_as_packed():
    parts = {"model": b"\x00weights\xff", "scaler.npz": b"mean,std"}
    blob = archive.pack("thing.json", {"lookback": 60, "tickers": ["a", "b"]}, parts)

    assert archive.pack("thing.json", {"tickers": ["a", "b"], "lookback": 60}, parts) == blob  # key order: no matter
    assert archive.manifest("thing.json", blob) == {"lookback": 60, "tickers": ["a", "b"]}
    assert archive.unpack("thing.json", blob) == ({"lookback": 60, "tickers": ["a", "b"]}, parts)
    with zipfile.ZipFile(io.BytesIO(blob)) as z:  # no clock in the bytes, the manifest first
        assert [i.date_time for i in z.infolist()] == [(1980, 1, 1, 0, 0, 0)] * 3
        assert z.namelist() == ["thing.json", "model", "scaler.npz"]


def test_other_parts_make_other_bytes():
    blob = archive.pack("m.json", {"a": 1}, {"model": b"1"})
    assert archive.pack("m.json", {"a": 1}, {"model": b"2"}) != blob
    assert archive.pack("m.json", {"a": 2}, {"model": b"1"}) != blob
