"""The errors a user can act on, one family, each carrying the exit code the CLI gives it.

The CLI maps them in one place (`flows/cli/base.py: command`): the message is printed
without a traceback and the process exits with `exit_code`. Anything else is a
bug and keeps its traceback.
"""

from __future__ import annotations

import re
from typing import Any


class StockflowError(Exception):
    """A problem the user can fix; the message says what and where."""

    exit_code = 1


class UsageError(StockflowError):
    """The request itself is wrong: options, settings, names, unreadable files. Nothing was written."""

    exit_code = 2


class ParamsError(UsageError):
    """Settings that cannot be used; the message names every offending key."""


class InvalidName(UsageError):
    """A ticker that is not a plain name (a path, an empty string, a space)."""


class PriceFileError(UsageError):
    """A file that cannot be read as a CSV of prices (missing, empty, binary, wrong separator)."""


class DataValidationError(StockflowError):
    """A file broke a critical expectation; carries the readable report and what was (not) done about it."""

    def __init__(self, report: Any, consequence: str = ""):
        self.report, self.consequence = report, consequence
        super().__init__("\n".join(filter(None, [report.to_text(), consequence])))


class UniverseError(StockflowError):
    """A universe that cannot be trained as given: undefined, fewer than two tickers, a ticker with no data or bad
    data; the message names the ticker and the reason. Nothing was trained, recorded as data, or registered."""


class PredictError(StockflowError):
    """No forecast can be given honestly (no champion, invalid or stale data)."""


class MonitorError(StockflowError):
    """The champion cannot be checked (none yet, a version too old to say what it was trained on, bad data)."""


class TrackingError(StockflowError):
    """The MLflow tracking server a run must record to does not answer: nothing is run."""


class ReproduceError(StockflowError):
    """A run cannot be made again from its record: its commit or its data cannot be had here, or it ran differently."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived; a BaseException so that `except Exception` in libraries lets it through."""

    def __init__(self, signal_name: str, exit_code: int):
        self.signal_name, self.exit_code = signal_name, exit_code
        super().__init__(signal_name)


TICKER_PATTERN = r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}"
_TICKER = re.compile(TICKER_PATTERN)


def check_ticker(name: Any, where: str = "ticker") -> str:
    """`name` if it is a plain ticker name (letters, digits, '.', '_', '-'; no path), else InvalidName."""
    if not isinstance(name, str) or not _TICKER.fullmatch(name):
        raise InvalidName(
            f"{where} {name!r} is not a ticker name: use letters, digits, '.', '_' or '-', "
            "starting with a letter or digit (at most 64 characters)"
        )
    return name
