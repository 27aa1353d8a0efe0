"""Print the import circles among mlstack's modules (every import statement, also those inside
functions), the largest modules and the lines under mlstack/components/.

    python scripts/import_cycles.py            # human-readable
    python scripts/import_cycles.py --count    # just the number of circles (for CI or a note)
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "mlstack"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imports(path: Path, name: str) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.add(target)
            found.update(f"{target}.{alias.name}" for alias in node.names)
    return {f for f in found if f.startswith("mlstack")}


def graph() -> dict[str, set[str]]:
    modules = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for name, path in modules.items():
        edges[name] = {t for t in imports(path, name) if t in modules and t != name}
    # A package's __init__ importing its own submodules is not a circle worth reporting.
    for name in edges:
        edges[name] = {t for t in edges[name] if not (t.startswith(name + ".") and modules[name].name == "__init__.py")}
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]
    sys.setrecursionlimit(10000)

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
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
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def main() -> None:
    found = cycles(graph())
    if "--count" in sys.argv:
        print(len(found))
        return
    print(f"import circles: {len(found)}")
    for component in found:
        print("  " + " <-> ".join(component))
    sizes = sorted(((len(p.read_text().splitlines()), p.relative_to(ROOT)) for p in PACKAGE.rglob("*.py")), reverse=True)
    print("largest modules:")
    for lines, path in sizes[:5]:
        print(f"  {lines:5d} {path}")
    components = sum(len(p.read_text().splitlines()) for p in (PACKAGE / "components").rglob("*.py"))
    print(f"lines in mlstack/components/: {components}")


if __name__ == "__main__":
    try:
        main()
    except BrokenPipeError:  # piped into head: end quietly
        sys.stderr.close()
