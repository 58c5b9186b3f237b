"""Reading and writing the files stages hand each other: price CSVs, strict JSON, tables, figures, datasets.

Every writer is atomic (a temporary file renamed into place), so a crash or a
kill never leaves half a file for the next stage, DVC or MLflow to pick up.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from stockflow.data.formats import Normalised, canonical
from stockflow.errors import PriceFileError

if TYPE_CHECKING:
    from stockflow.ticker.dataset import Dataset
    from stockflow.universe.panel import PanelData


def read_price_file(path: Path | str) -> pd.DataFrame:
    """Read a daily price CSV as people download them (see `read_download`); the canonical frame."""
    return read_download(path).frame


def read_download(path: Path | str) -> Normalised:
    """A daily price CSV (Yahoo, Kaggle, nasdaq.com, Stooq) in canonical form, with notes on what was normalised.

    Content problems (bad values, missing columns) are left for the validation gate;
    only files that cannot be read as a comma-separated table, or not without a guess, raise.
    """
    path = Path(path)
    if not path.exists():
        raise PriceFileError(f"{path}: file not found")
    if path.is_dir():
        raise PriceFileError(f"{path}: is a folder, not a CSV file")
    head = path.read_bytes()[:4096]
    if not head.strip():
        raise PriceFileError(f"{path}: file is empty")
    if b"\x00" in head:
        raise PriceFileError(f"{path}: looks binary, not a CSV text file")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        raise PriceFileError(f"{path}: is not UTF-8 text") from None
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)  # the cells' text: see stockflow.data.formats
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise PriceFileError(f"{path}: not a readable CSV ({str(exc).strip().splitlines()[-1]})") from None
    if len(frame.columns) == 1:
        header = str(frame.columns[0])
        for sep in (";", "\t", "|"):
            if sep in header:
                raise PriceFileError(
                    f"{path}: columns are separated by {sep!r}, expected ',' (header: {header[:60]!r})"
                )
        raise PriceFileError(f"{path}: only one column ({header[:40]!r}); expected Date,Open,High,Low,Close,...")
    try:
        return canonical(frame)  # a missing Date column is left for the gate, which reports it by name
    except PriceFileError as exc:
        raise PriceFileError(f"{path}: {exc}") from None


@contextmanager
def atomic(path: Path, mode: str = "w") -> Iterator[Any]:
    """Write to a temporary file beside `path`, renamed over it only when the block succeeds."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, mode, **({} if "b" in mode else {"newline": "", "encoding": "utf-8"})) as f:
            yield f
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def strict(value: Any) -> Any:
    """JSON-safe: NaN and infinities become null (strict parsers, DVC and browsers reject them), numpy -> Python."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def write_json(path: Path, payload: Any) -> None:
    """Strict JSON (NaN and infinities as null), keys sorted, written atomically."""
    with atomic(path) as f:
        f.write(json.dumps(strict(payload), indent=2, sort_keys=True, allow_nan=False) + "\n")


def read_json(path: Path) -> Any:
    """A JSON file's content."""
    return json.loads(Path(path).read_text())


def write_csv(frame: pd.DataFrame, path: Path, **kwargs: Any) -> None:
    """Unix line endings and a fixed float format, so equal results give equal files (DVC compares bytes)."""
    with atomic(path) as f:
        frame.to_csv(f, lineterminator="\n", **{"index": False, "float_format": "%.6f", **kwargs})


def save_figure(fig: Any, path: Path) -> None:
    """A PNG without a timestamp or version stamp in its metadata, so the same figure gives the same bytes."""
    import matplotlib.pyplot as plt

    try:
        with atomic(path, "wb") as f:
            fig.savefig(f, format="png", dpi=100, metadata={"Software": None})
    finally:
        plt.close(fig)


def save_joblib(obj: Any, path: Path) -> None:
    """Pickle `obj` with joblib, atomically."""
    import joblib

    with atomic(path, "wb") as f:
        joblib.dump(obj, f)


def load_joblib(path: Path) -> Any:
    """Unpickle a joblib file."""
    import joblib

    return joblib.load(path)


def save_dataset(data: Dataset, arrays_path: Path, transform_path: Path) -> None:
    """The dataset's arrays (npz) and its fitted transform (joblib), each written atomically."""
    with atomic(arrays_path, "wb") as f:
        np.savez(f, **data.arrays())
    save_joblib(data.transform, transform_path)


def load_dataset(arrays_path: Path, transform_path: Path) -> Dataset:
    """A dataset saved by `save_dataset`."""
    from stockflow.ticker.dataset import Dataset

    with np.load(arrays_path, allow_pickle=False) as npz:
        return Dataset.from_arrays({k: npz[k] for k in npz.files}, load_joblib(transform_path))


def save_panel(data: PanelData, path: Path) -> None:
    """A universe made ready to train (`stockflow.universe.panel.PanelData`) as one npz, atomically: the panel, the
    labels, the scaled features, the scaler, the date split and each split's samples."""
    panel, t = data.panel, data.transform
    arrays = {
        "dates": panel.dates.astype("datetime64[ns]").astype(np.int64),
        "tickers": np.asarray(panel.tickers),
        "close": panel.close,
        "open": panel.open if panel.open is not None else np.zeros((0, 0)),
        "y": data.y,
        "scaled": data.windows["train"].scaled,
        "mean": t.scaler.mean,
        "std": t.scaler.std,
        "settings": np.asarray(
            [str(t.lookback), t.label, t.features, "" if t.scaler.clip is None else str(t.scaler.clip), str(t.horizon)]
        ),
        **{name: getattr(panel, name) for name in ("high", "low", "volume") if getattr(panel, name) is not None},
        **{f"days_{s}": d for s, d in data.split_days.items()},
        **{f"{key}_{s}": getattr(w, key) for s, w in data.windows.items() for key in ("date", "ticker")},
    }
    with atomic(path, "wb") as f:
        np.savez(f, **arrays)


def load_panel(path: Path) -> PanelData:
    """A universe saved by `save_panel`."""
    from stockflow.universe.panel import SPLITS, Panel, PanelData, Scaler, Transform, Windows

    with np.load(path, allow_pickle=False) as z:
        a = {k: z[k] for k in z.files}
    settings = [str(v) for v in a["settings"]] + ["basic", "", "1"][len(a["settings"]) - 2 :]
    lookback, label, kind, clip, horizon = int(settings[0]), settings[1], settings[2], settings[3], int(settings[4])
    panel = Panel(a["dates"].astype("datetime64[ns]"), tuple(str(t) for t in a["tickers"]), a["close"],
                  a["open"] if a["open"].size else None, a.get("high"), a.get("low"), a.get("volume"))  # fmt: skip
    windows = {s: Windows(a["scaled"], a[f"date_{s}"], a[f"ticker_{s}"], lookback, kind == "raw") for s in SPLITS}
    transform = Transform(lookback, label, Scaler(a["mean"], a["std"], float(clip) if clip else None), kind, horizon)
    return PanelData(panel, a["y"], windows, transform, {s: a[f"days_{s}"] for s in SPLITS})
