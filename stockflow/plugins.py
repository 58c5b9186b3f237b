"""Plug-in points found, not listed: every module of a package that defines the package's plug-in attribute
(`FAMILY`, `STRATEGY`, `STATISTIC`, `SOURCE`) adds one, under the name(s) it gives itself."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from typing import Any


def discover(package: str, path: Iterable[str], attribute: str, names: str) -> dict[str, Any]:
    """name -> plug-in, for each module of `package` (at `path`) that defines `attribute`; `names` is the plug-in's
    attribute that names it (a string, or a tuple of the names it answers to)."""
    found: dict[str, Any] = {}
    for info in pkgutil.iter_modules(path):
        plugin = getattr(importlib.import_module(f"{package}.{info.name}"), attribute, None)
        if plugin is not None:
            called = getattr(plugin, names)
            for name in (called,) if isinstance(called, str) else called:
                found[name] = plugin
    return found


def chosen(found: dict[str, Any], name: str, what: str) -> Any:
    """The plug-in `name`; ValueError naming the choices (a typo in params.yaml fails at start-up with them)."""
    if name not in found:
        raise ValueError(f"unknown {what} {name!r}; choose from {', '.join(sorted(found))}")
    return found[name]
