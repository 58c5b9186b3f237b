"""What every settings section shares, wherever its owner declares it (config.py composes them into `Params`).

A section refuses unknown keys and is frozen. A section that names plug-ins (model families,
strategies, monitor statistics) checks the names when params.yaml is read, so a typo fails at
start-up with the choices.
"""

from __future__ import annotations

import importlib

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def plugin_names(names: tuple[str, ...], package: str, lookup: str) -> tuple[str, ...]:
    """`names` if `package`'s `lookup(name)` finds a plug-in for each (it raises ValueError naming the choices);
    never empty.

    The package is found by name when the check runs: a name is all a setting holds, so a stage that reads the
    settings does not depend on every plug-in's code (`dvc.yaml`'s dependencies are read from the imports).
    """
    if not names:
        raise ValueError("name at least one")
    find = getattr(importlib.import_module(package), lookup)
    for name in names:
        find(name)
    return names


def family(architecture: str):
    """The model family `architecture` (ValueError naming the choices), found by name as `plugin_names` finds one."""
    return importlib.import_module("stockflow.models").family(architecture)
