"""`csv:PATH`: a daily CSV as Yahoo, Kaggle, nasdaq.com or Stooq give it, read as-is (what is normalised is said)."""

from __future__ import annotations

from pathlib import Path

from tasks.services.files import read_download
from tasks.sources import Loaded


class CsvFile:
    kind = "csv"
    help = "csv:PATH (a daily CSV as downloaded; stored under the file's name)"

    def load(self, arg: str) -> list[Loaded]:
        return [Loaded(Path(arg).stem, read_download(Path(arg)), arg)]


SOURCE = CsvFile()
