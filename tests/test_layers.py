"""Layers point one way: the import graph of toolkit/, exporters/ and serving/ has no cycle.

Every import counts, also one inside a function (it still ties the modules
together); `from package import name` counts as importing the submodule when
`name` is one, else the package.
"""

from __future__ import annotations

import ast

from tests.conftest import ROOT

PACKAGES = ("toolkit", "exporters", "serving")


def modules() -> dict[str, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = path.relative_to(ROOT).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = (path, ast.parse(path.read_text(encoding="utf-8")))
    return found


def import_graph() -> dict[str, set[str]]:
    mods = modules()

    def owner(name: str) -> str | None:
        while name and name not in mods:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: set() for m in mods}
    for m, (path, tree) in mods.items():
        package = m if path.name == "__init__.py" else m.rpartition(".")[0]
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in mods else base for a in node.names]
            for t in targets:
                o = owner(t)
                if o and o != m:
                    graph[m].add(o)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative enough for ~100 nodes)."""
    import sys

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
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

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 50
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_planted_cycle():
    graph = import_graph()
    graph["toolkit.config.schema"].add("toolkit.training.loop")  # trainer → epochs → config: a cycle back
    assert any("toolkit.config.schema" in c and "toolkit.training.loop" in c for c in cycles(graph))


#: toolkit's rooms by stage, lowest first: a module may import its own room and rooms below it, never above.
#: The top-level modules are rooms of their own (errors and version at the bottom, the public API on top);
#: the delivery targets (exporters/, serving/) sit on the core, and the command line on everything.
LAYERS = (
    ("toolkit.errors", "toolkit.version"),
    ("toolkit.common",),
    ("toolkit.scoring",),
    ("toolkit.data",),
    ("toolkit.runtime",),
    ("toolkit.nn",),
    ("toolkit.features",),
    ("toolkit.config",),
    ("toolkit.training",),
    ("toolkit.models",),
    ("toolkit.export",),
    ("toolkit.pipeline",),
    ("toolkit.api", "toolkit"),
    ("toolkit.report", "toolkit.tracking", "toolkit.hyperopt"),
    ("exporters", "serving"),
    ("toolkit.cli",),
)


def layer_of(module: str) -> int:
    best, found = -1, None
    for k, rooms in enumerate(LAYERS):
        for room in rooms:
            if (module == room or module.startswith(room + ".")) and len(room) > best:
                best, found = len(room), k
    assert found is not None, f"{module}: in no room of LAYERS (add its folder there)"
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[tuple[str, str]]:
    return sorted((m, t) for m in graph for t in graph[m] if layer_of(t) > layer_of(m))


def test_no_room_imports_a_higher_room():
    assert upward_imports(import_graph()) == []


def test_the_layer_check_finds_a_planted_upward_import():
    graph = import_graph()
    graph["toolkit.features.base"].add("toolkit.pipeline.run")
    assert ("toolkit.features.base", "toolkit.pipeline.run") in upward_imports(graph)


def test_the_top_of_toolkit_holds_the_public_api_only():
    top = sorted(p.stem for p in (ROOT / "toolkit").glob("*.py"))
    assert len(top) <= 8, top


#: the command line sits on top of everything: it may call the delivery targets
COMMAND_LINE = ("toolkit.cli.main", "toolkit.cli.commands", "toolkit.cli.serve")


def test_delivery_targets_sit_on_top_of_the_core():
    graph = import_graph()
    core = [m for m in graph if m.startswith("toolkit") and m not in COMMAND_LINE]
    assert not [(m, t) for m in core for t in graph[m] if t.startswith("exporters")]


def model_type_branches() -> list[str]:
    """Comparisons with a `model_type` (attribute, key or name) outside the config and the model kinds."""
    found = []
    for name, (path, tree) in modules().items():
        if name.startswith(("toolkit.config", "toolkit.models")):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Compare):
                text = ast.unparse(node)
                if "model_type" in text:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {text}")
    return found


def test_only_the_config_and_the_model_kinds_branch_on_model_type():
    assert model_type_branches() == []
