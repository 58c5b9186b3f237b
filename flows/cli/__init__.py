"""The `stockflow` command: one module per group of commands, registered on one app (`app`).

Errors a user can act on (`stockflow.errors`) are mapped to a message and an exit
code in one place, `base.command`: 1 for a refused input or a failed check, 2 for a
wrong request, 128 + N for signal N (130 for Ctrl-C, 143 for SIGTERM). Anything
else is a bug and keeps its traceback.
"""

from flows.cli import data, training, records, champion, research  # noqa: F401, I001 - each registers its commands, in --help order
from flows.cli.base import app, main

__all__ = ["app", "main"]
