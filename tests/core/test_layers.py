"""The house's layers, read from its import graph (grimp): no circles, and each layer imports only those below it."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("stockflow", "tasks", "flows")


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None)


def test_no_module_imports_itself_through_others(graph):
    """A circle of imports (config -> a plug-in -> config, once) ties modules that should change apart."""
    internal = sorted(m for m in graph.modules if m.split(".")[0] in PACKAGES)
    circles = [
        (a, b)
        for a in internal
        for b in graph.find_modules_directly_imported_by(a)
        if b.split(".")[0] in PACKAGES and graph.chain_exists(importer=b, imported=a)
    ]
    assert circles == []


def test_the_core_imports_neither_the_stages_nor_the_flows_nor_their_tools(graph):
    for below, above in [("stockflow", "tasks"), ("stockflow", "flows"), ("tasks", "flows"), ("stockflow", "prefect"),
                         ("stockflow", "mlflow"), ("tasks", "prefect")]:  # fmt: skip
        assert not graph.chain_exists(importer=below, imported=above, as_packages=True), f"{below} -> {above}"


def test_no_plugin_imports_the_settings_that_compose_it(graph):
    """config.py composes the sections the plug-in packages declare; a plug-in reading config would close a circle."""
    for package in ("stockflow.models", "stockflow.strategies", "stockflow.monitors"):
        for module in graph.find_children(package):
            assert "stockflow.config" not in graph.find_modules_directly_imported_by(module), module
