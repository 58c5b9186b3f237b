"""`stooq:PATH`: Stooq's bulk download as it comes, a folder, a `.zip` or a `.tar.gz` of per-ticker files
(`aapl.us.txt`), in Stooq's own `<TICKER>,<PER>,<DATE>,...` layout or the plain `Date,Open,...,OpenInt` one.
Tickers are the files' (`AAPL.US` -> `aapl`). Stooq adjusts its prices for splits and dividends."""

from __future__ import annotations

import io
import tarfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from stockflow.data.formats import canonical_long
from stockflow.errors import PriceFileError
from tasks.sources import Market

SUFFIXES = (".txt", ".csv")


class Stooq:
    kind = "stooq"
    help = "stooq:PATH (Stooq's bulk download: a folder, .zip or .tar.gz of per-ticker files; every ticker stored)"
    adjusted = True

    def market(self, arg: str, tickers: set[str] | None = None) -> Market:
        """The files of `arg` as one long frame; only those of `tickers` (stored names) when given."""
        path = Path(arg)
        if not path.exists():
            raise PriceFileError(f"{path}: not found")
        frames, notes = [], {}
        for name, data in _files(path):
            stem = Path(name).name.split(".")[0].lower()
            if tickers is not None and stem not in tickers:
                continue
            try:
                frame = pd.read_csv(io.BytesIO(data), low_memory=False)
            except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
                raise PriceFileError(f"{path}: {name} is not a readable CSV ({exc})".strip()) from None
            if not any(str(c).strip("<>").lower() == "ticker" for c in frame.columns):
                frame.insert(0, "<TICKER>", Path(name).name.rsplit(".", 1)[0])  # the plain layout: the file names it
            read = canonical_long(frame, f"{path}: {name}")  # each file on its own: the two layouts may mix
            frames.append(read.frame)
            notes.update(dict.fromkeys(read.notes))
        if not frames:
            raise PriceFileError(f"{path}: no Stooq files ({', '.join(SUFFIXES)})"
                                 + (" for the tickers asked" if tickers else ""))  # fmt: skip
        long = pd.concat(frames, ignore_index=True)
        return Market(long, f"{path} (Stooq, {len(frames)} files)", self.adjusted, list(notes))


def _files(path: Path) -> Iterator[tuple[str, bytes]]:
    """(name, bytes) of every per-ticker file in a folder, zip or tar.gz, in name order."""
    if path.is_dir():
        for f in sorted(p for p in path.rglob("*") if p.suffix.lower() in SUFFIXES and p.is_file()):
            yield f.name, f.read_bytes()
    elif zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as z:
            for name in sorted(n for n in z.namelist() if n.lower().endswith(SUFFIXES)):
                yield name, z.read(name)
    elif tarfile.is_tarfile(path):
        with tarfile.open(path, "r|*") as t:  # read as a stream: a gzip cannot seek back cheaply
            found = [(m.name, t.extractfile(m).read()) for m in t if m.isfile() and m.name.lower().endswith(SUFFIXES)]
        yield from sorted(found)
    else:
        raise PriceFileError(f"{path}: not a folder, a .zip or a .tar.gz of Stooq files")


SOURCE = Stooq()
