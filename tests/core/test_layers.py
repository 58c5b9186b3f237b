"""The house's layers, read from its import graph (grimp): no circles, and each layer imports only those below it."""

from __future__ import annotations

import grimp
import pytest

PACKAGES = ("stockflow", "tasks", "flows")


@pytest.fixture(scope="module")
def graph():
    # Imports for type annotations only (`if TYPE_CHECKING:`) run nothing: they tie no module to another.
    return grimp.build_graph(*PACKAGES, include_external_packages=True, cache_dir=None,
                             exclude_type_checking_imports=True)  # fmt: skip


def test_no_module_imports_itself_through_others(graph):
    """A circle of imports (config -> a plug-in -> config, once) ties modules that should change apart, and breaks
    the import of whichever module of it comes first. Importing `a.b.c` runs `a/b/__init__.py` first: a package
    whose `__init__` imports a module that imports back into the package is a circle too."""
    internal = {m for m in graph.modules if m.split(".")[0] in PACKAGES}
    edges = {m: set() for m in internal}
    for a in internal:
        for b in graph.find_modules_directly_imported_by(a) & internal:
            parts = b.split(".")
            # b's packages run first, but those a is inside of are already running (a package's own modules).
            edges[a] |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & internal - _packages_of(a)
    assert _circles(edges) == []


def _packages_of(module: str) -> set[str]:
    parts = module.split(".")
    return {".".join(parts[:i]) for i in range(1, len(parts) + 1)}


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's, iteratively)."""
    index, low, on, stack, found, counter = {}, {}, set(), [], [], [0]
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter[0]
                    counter[0] += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    component = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        component.append(w)
                        if w == v:
                            break
                    if len(component) > 1:
                        found.append(sorted(component))
    return found


def test_the_core_imports_neither_the_stages_nor_the_flows_nor_their_tools(graph):
    for below, above in [("stockflow", "tasks"), ("stockflow", "flows"), ("tasks", "flows"), ("stockflow", "prefect"),
                         ("stockflow", "mlflow"), ("tasks", "prefect")]:  # fmt: skip
        assert not graph.chain_exists(importer=below, imported=above, as_packages=True), f"{below} -> {above}"


def test_no_plugin_imports_the_settings_that_compose_it(graph):
    """config.py composes the sections the plug-in packages declare; a plug-in reading config would close a circle."""
    for package in ("stockflow.models", "stockflow.strategies", "stockflow.monitors"):
        for module in graph.find_children(package):
            assert "stockflow.config" not in graph.find_modules_directly_imported_by(module), module


def test_a_model_pickled_before_the_modules_were_grouped_still_loads():
    """A champion registered before holds its scaler under the module's old name (`stockflow.dataset`)."""
    import pickle

    from stockflow.ticker.dataset import Transform

    made = Transform.__new__(Transform)
    old = pickle.dumps(made, protocol=0).replace(b"stockflow.ticker.dataset", b"stockflow.dataset")
    assert b"stockflow.dataset\n" in old
    assert type(pickle.loads(old)) is Transform
