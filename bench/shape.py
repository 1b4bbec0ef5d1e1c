"""The package's shape in figures: modules, the largest module, the longest functions, and the
layers of its import graph (a module sits one layer above the highest module it imports; a loop
is reported, since it has no layering). Reads the source only; imports nothing of animator.

    python bench/shape.py [--json]
"""

from __future__ import annotations

import ast
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "animator"


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(tree: ast.AST, name: str, is_package: bool, known: set[str]) -> set[str]:
    """animator modules this module imports (at any depth: lazy imports count too)."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def read_package() -> tuple[dict[str, set[str]], dict[str, int], list[tuple[int, str]]]:
    """(imports of each module, lines of each module, (length, name) of every function)."""
    files = sorted(PACKAGE.rglob("*.py"))
    known = {module_name(f) for f in files}
    graph, lines, functions = {}, {}, []
    for file in files:
        name, source = module_name(file), file.read_text()
        tree = ast.parse(source)
        lines[name] = len(source.splitlines())
        graph[name] = imports_of(tree, name, file.name == "__init__.py", known) - {name}
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                functions.append((node.end_lineno - node.lineno + 1, f"{name}.{node.name}"))
    # A package's __init__ importing its own submodules is its face, not a layer above them.
    graph = {m: {d for d in deps if not (d.startswith(m + ".") and lines[m] < 40)} for m, deps in graph.items()}
    return graph, lines, functions


def layers(graph: dict[str, set[str]]) -> tuple[dict[str, int], list[tuple[str, ...]]]:
    """Each module's layer, and the import loops found (each as the modules around it)."""
    layer, loops = {}, []

    def depth(module: str, stack: tuple[str, ...] = ()) -> int:
        if module in stack:
            loops.append(stack[stack.index(module):] + (module,))
            return 0
        if module not in layer:
            layer[module] = 1 + max((depth(d, stack + (module,)) for d in graph[module]), default=0)
        return layer[module]

    for module in graph:
        depth(module)
    return layer, loops


def main() -> None:
    graph, lines, functions = read_package()
    layer, loops = layers(graph)
    functions.sort(reverse=True)
    figures = {
        "modules": len(lines),
        "lines": sum(lines.values()),
        "largest_module": max(lines.items(), key=lambda kv: kv[1]),
        "longest_functions": functions[:5],
        "layers": max(layer.values()),
        "import_loops": sorted({" -> ".join(loop) for loop in loops}),
        "by_layer": {n: sorted(m for m, l in layer.items() if l == n) for n in sorted(set(layer.values()))},
    }
    if "--json" in sys.argv:
        print(json.dumps(figures, indent=2))
        return
    print(f"modules {figures['modules']}, {figures['lines']} lines; largest {figures['largest_module'][0]} "
          f"({figures['largest_module'][1]} lines)")
    print("longest functions: " + ", ".join(f"{n} ({k} lines)" for k, n in figures["longest_functions"]))
    print(f"import layers: {figures['layers']}; loops: {', '.join(figures['import_loops']) or 'none'}")
    for n, modules in figures["by_layer"].items():
        print(f"  layer {n}: {', '.join(modules)}")


if __name__ == "__main__":
    main()
