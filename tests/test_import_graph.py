"""The package's own imports form no cycle, counting imports inside functions.

A lazy import (inside a function, to keep start-up fast) still ties two modules
together: one that goes back up the graph works only because of the order in which
things happen to be called. An import under ``if TYPE_CHECKING:`` never runs, so it
is not counted (annotating with a class from a module that imports this one is fine).
"""

from __future__ import annotations

import ast
from pathlib import Path

import wegly_async

PACKAGE = "wegly_async"
ROOT = Path(wegly_async.__file__).parent


def _modules(root: Path, package: str) -> dict[str, Path]:
    """Return every module under ``root`` by its dotted name (a package by its own name)."""
    modules: dict[str, Path] = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def _imported(module: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Return the package's modules that ``module`` imports anywhere in its source.

    ``from x import y`` imports the module ``x.y`` when there is one, else the module
    ``x``. The parent packages that any import runs first are not counted: every module
    would otherwise import ``wegly_async`` and, through it, half the package.
    """
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()
    for node in _runtime_nodes(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            for alias in node.names:
                child = f"{source}.{alias.name}"
                found.add(child if child in modules else source)
    return {name for name in found if name in modules and name != module}


def _runtime_nodes(tree: ast.AST) -> list[ast.AST]:
    """Return every node of ``tree`` except those only a type checker reads."""
    nodes: list[ast.AST] = []
    pending = [tree]
    while pending:
        node = pending.pop()
        nodes.append(node)
        if isinstance(node, ast.If) and ast.unparse(node.test) in _TYPE_CHECKING:
            pending.extend(node.orelse)
        else:
            pending.extend(ast.iter_child_nodes(node))
    return nodes


_TYPE_CHECKING = {"TYPE_CHECKING", "typing.TYPE_CHECKING"}


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, set[str]]:
    """Return, for every module of the package, the package's modules it imports."""
    modules = _modules(root, package)
    return {name: _imported(name, path, modules) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a path that ends where it starts, or None."""
    done: set[str] = set()
    path: list[str] = []
    on_path: set[str] = set()

    def visit(node: str) -> list[str] | None:
        path.append(node)
        on_path.add(node)
        for child in sorted(graph[node]):
            if child in on_path:
                return [*path[path.index(child) :], child]
            if child not in done and (cycle := visit(child)) is not None:
                return cycle
        path.pop()
        on_path.discard(node)
        done.add(node)
        return None

    for start in sorted(graph):
        if start not in done and (cycle := visit(start)) is not None:
            return cycle
    return None


def test_the_package_has_no_import_cycle() -> None:
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_graph_sees_every_kind_of_import(tmp_path: Path) -> None:
    root = tmp_path / "pkg"
    (root / "sub").mkdir(parents=True)
    sources = {
        "__init__.py": "from ._a import A\n",
        "_a.py": "import os\nfrom . import _b\nA = 1\n",
        "_b.py": "def later():\n    from .sub import _c\n    import pkg._a\n",
        "sub/__init__.py": "",
        "sub/_c.py": "from .. import A\nfrom .._a import A as B\nfrom ..sub import _d\n",
        "sub/_d.py": (
            "import typing\nif typing.TYPE_CHECKING:\n    import pkg._b\n"
            "else:\n    from . import _e\n"
        ),
        "sub/_e.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg._b\n",
    }
    for name, text in sources.items():
        (root / name).write_text(text, encoding="utf-8")
    assert import_graph(root, "pkg") == {
        "pkg": {"pkg._a"},
        "pkg._a": {"pkg._b"},  # ``from . import _b`` is the module, not the package
        "pkg._b": {"pkg.sub._c", "pkg._a"},  # both inside a function
        "pkg.sub": set(),
        "pkg.sub._c": {"pkg", "pkg._a", "pkg.sub._d"},  # ``A`` is a name of the package
        "pkg.sub._d": {"pkg.sub._e"},  # what only the type checker reads is left out
        "pkg.sub._e": set(),
    }
    assert find_cycle(import_graph(root, "pkg")) == ["pkg._a", "pkg._b", "pkg._a"]


def test_find_cycle_reports_a_lazy_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None
