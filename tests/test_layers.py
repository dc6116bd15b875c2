"""dc_lib's layers: a module imports only from its own layer or lower ones, and no import circle.

Layers, lowest first: the root package (``dc_lib/__init__.py``, the version only), ``core``,
``engines``, ``methods``, ``runs``, ``thesis``, then the command line (``cli``, ``__main__``).
The graph is read from the source with ``ast``: every ``import`` and ``from ... import``
anywhere in a module, inside functions included, relative ones resolved.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "dc_lib"
LAYERS = ("", "core", "engines", "methods", "runs", "thesis", "cli")  # "" is the root package
TOP_LEVEL = {"cli": "cli", "__main__": "cli"}  # modules directly under dc_lib, and their layer


def module_names(root: Path) -> dict[str, Path]:
    """``{"dc_lib.core.data": path, "dc_lib.core": path/__init__.py, ...}`` for every .py under ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The package's modules that module ``name`` (file ``path``) imports, anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - (node.level - 1)]
                source = ".".join(base + (node.module.split(".") if node.module else []))
            else:
                source = node.module
            # `from pkg import mod` imports the module pkg.mod; `from mod import name` imports mod
            targets = [f"{source}.{a.name}" if f"{source}.{a.name}" in known else source for a in node.names]
        else:
            continue
        for target in targets:
            # `import dc_lib.core.data` also names its parents; keep the deepest known module
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    found.discard(name)
    return found


def import_graph(root: Path = PACKAGE) -> dict[str, set[str]]:
    names = module_names(root)
    return {name: imports_of(name, path, set(names)) for name, path in names.items()}


def layer_of(name: str) -> int:
    """Index in :data:`LAYERS`; raises if the module is in no layer."""
    parts = name.split(".")[1:]
    if not parts:
        return 0
    layer = TOP_LEVEL.get(parts[0], parts[0])
    if layer not in LAYERS[1:]:
        raise LookupError(f"{name} is in no layer; put it in one of {', '.join(LAYERS[1:-1])} (or add it to cli)")
    return LAYERS.index(layer)


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    return sorted(f"{a} ({LAYERS[layer_of(a)] or 'root'}) imports {b} ({LAYERS[layer_of(b)]})"
                  for a, targets in graph.items() for b in targets if layer_of(b) > layer_of(a))


def find_circle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import circle as ``[a, b, ..., a]``, or None (depth-first search)."""
    state: dict[str, str] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == "open":
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state and (circle := visit(nxt)):
                return circle
        stack.pop()
        state[node] = "done"
        return None

    for node in sorted(graph):
        if node not in state and (circle := visit(node)):
            return circle
    return None


def test_every_module_belongs_to_a_layer():
    graph = import_graph()
    assert "dc_lib.core.data" in graph and "dc_lib.thesis.chapter5" in graph  # the walk found the package
    for name in graph:
        layer_of(name)


def test_no_module_imports_from_a_higher_layer():
    assert upward_imports(import_graph()) == []


def test_the_import_graph_has_no_circle():
    assert find_circle(import_graph()) is None


def test_the_chapter_modules_never_import_each_other():
    graph = import_graph()
    chapters = {n for n in graph if n.startswith("dc_lib.thesis.") and n != "dc_lib.thesis"}
    assert sorted((a, b) for a in chapters for b in graph[a] if b in chapters) == []


def test_the_root_package_imports_nothing_of_its_own():
    # every layer may read dc_lib.__version__, so the root must stay below all of them
    assert import_graph()["dc_lib"] == set()


def _write(root: Path, files: dict[str, str]) -> Path:
    pkg = root / "dc_lib"
    for rel, text in files.items():
        (pkg / rel).parent.mkdir(parents=True, exist_ok=True)
        (pkg / rel).write_text(text)
    return pkg


def test_a_function_local_import_of_a_higher_layer_is_caught(tmp_path):
    pkg = _write(tmp_path, {"__init__.py": "", "core/__init__.py": "", "runs/__init__.py": "",
                            "core/data.py": "def f():\n    from ..runs.results import x\n",
                            "runs/results.py": "from ..core import data\nx = 1\n"})
    graph = import_graph(pkg)
    assert graph["dc_lib.core.data"] == {"dc_lib.runs.results"}
    assert upward_imports(graph) == ["dc_lib.core.data (core) imports dc_lib.runs.results (runs)"]
    assert find_circle(graph) == ["dc_lib.core.data", "dc_lib.runs.results", "dc_lib.core.data"]


def test_a_circle_inside_one_layer_is_caught(tmp_path):
    pkg = _write(tmp_path, {"__init__.py": "", "engines/__init__.py": "",
                            "engines/evaluation.py": "from . import side_by_side\n",
                            "engines/side_by_side.py": "import dc_lib.engines.evaluation as evaluation\n"})
    graph = import_graph(pkg)
    assert upward_imports(graph) == []
    assert find_circle(graph) == ["dc_lib.engines.evaluation", "dc_lib.engines.side_by_side",
                                  "dc_lib.engines.evaluation"]


def test_a_module_outside_the_layers_is_refused(tmp_path):
    pkg = _write(tmp_path, {"__init__.py": "", "scale_out.py": ""})
    with pytest.raises(LookupError, match="dc_lib.scale_out is in no layer"):
        [layer_of(n) for n in import_graph(pkg)]
