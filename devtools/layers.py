"""Check the import graph of the `wwhd` package: layers import downward only, and no cycles.

    python -m devtools.layers          # prints the layers and any violation; exit 1 if any

Layers, bottom to top (a module may import its own layer and those below):

    core -> tools -> graphs -> server -> cli, evals, deploy

Every import counts, those inside functions too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# Source folder of each subpackage (pyproject.toml's package-dir), and its layer's rank.
SOURCES = {
    "wwhd.core": REPO / "wwhd" / "core",
    "wwhd.tools": REPO / "tools",
    "wwhd.graphs": REPO / "graphs",
    "wwhd.server": REPO / "wwhd" / "server",
    "wwhd.evals": REPO / "evals",
    "wwhd.deploy": REPO / "deploy",
    "wwhd.cli": REPO / "wwhd" / "cli.py",
}
RANK = {
    "wwhd.core": 0, "wwhd.tools": 1, "wwhd.graphs": 2, "wwhd.server": 3,
    "wwhd.evals": 4, "wwhd.deploy": 4, "wwhd.cli": 5,
}


def modules() -> Iterator[tuple[str, Path]]:
    """(dotted module name, file) for every module of the package."""
    for package, source in SOURCES.items():
        if source.is_file():
            yield package, source
            continue
        for path in sorted(source.rglob("*.py")):
            parts = path.relative_to(source).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            yield ".".join((package, *parts)), path


def imports_of(path: Path, module: str) -> set[str]:
    """The `wwhd.*` modules a file imports (relative imports resolved)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                package = module.split(".")
                is_package = path.name == "__init__.py"
                package = package[: len(package) - node.level + (1 if is_package else 0)]
                base = ".".join([*package, base] if base else package)
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)
    return {name for name in found if name == "wwhd" or name.startswith("wwhd.")}


def layer_of(module: str) -> str | None:
    """The layer (a key of RANK) a module belongs to."""
    for package in sorted(RANK, key=len, reverse=True):
        if module == package or module.startswith(package + "."):
            return package
    return None


def check() -> list[str]:
    """Every upward import and every import cycle, as readable lines (empty: all good)."""
    graph: dict[str, set[str]] = {}
    known = dict(modules())
    problems = []
    for module, path in known.items():
        targets = {name for name in imports_of(path, module) if name in known}
        graph[module] = targets
        for target in sorted(targets):
            here, there = layer_of(module), layer_of(target)
            if here and there and RANK[there] > RANK[here]:
                problems.append(f"upward import: {module} ({here}) imports {target} ({there})")
    problems.extend(f"import cycle: {' -> '.join(cycle)}" for cycle in cycles(graph))
    return problems


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One cycle per strongly connected component of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in graph.get(node, ()):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1 or node in graph.get(node, ()):
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def main() -> int:
    """Print the result; exit status 1 when the layering is broken."""
    problems = check()
    order = " -> ".join(sorted(RANK, key=RANK.get))
    if problems:
        print(f"Layers ({order}) broken:", *problems, sep="\n  ")
        return 1
    print(f"{len(dict(modules()))} modules; layers {order}: no upward import, no cycle.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
