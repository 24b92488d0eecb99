"""The package's layout holds: no import cycles, dependencies that point one way, one registry entry per kind.

    lang ◀── ops ◀── analysis ◀── render
                          ▲
                          └── bridge ◀── homework        (cli and the package's __init__ above them all)

Imports are read from the source (lazy ones inside functions too, those under `if TYPE_CHECKING:` not), so
that a cycle cannot hide inside a function.
"""

from __future__ import annotations

import ast
from pathlib import Path

import cnnspec
from cnnspec import ops

PACKAGE = Path(cnnspec.__file__).resolve().parent
# What each part may import besides itself.
ALLOWED = {"lang": set(), "ops": {"lang"}, "analysis": {"lang", "ops"}, "render": {"lang", "analysis"},
           "bridge": {"lang", "ops", "analysis"}, "homework": {"lang", "ops", "analysis", "bridge"}}


def module_name(path: Path) -> str:
    parts = ["cnnspec", *path.relative_to(PACKAGE).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(path: Path, modules: set[str]) -> set[str]:
    """The cnnspec modules `path` imports, wherever in it, but for those only a type checker reads."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    checking_only = {id(node) for stmt in ast.walk(tree) if isinstance(stmt, ast.If)
                     and getattr(stmt.test, "id", "") == "TYPE_CHECKING" for node in ast.walk(stmt)}
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if id(node) in checking_only or not isinstance(node, (ast.Import, ast.ImportFrom)):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif node.level:
            base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
            module = f"{base}.{node.module}" if node.module else base
            targets = [f"{module}.{alias.name}" if f"{module}.{alias.name}" in modules else module
                       for alias in node.names]
        else:
            targets = [node.module]
        found |= {target for target in targets if target in modules and target != name}
    return found


def graph() -> dict[str, set[str]]:
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imports_of(path, modules) for path in paths}


def part(module: str) -> str:
    return module.split(".")[1] if module.count(".") else "cnnspec"


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}  # 1: on the current path, 2: done

    def visit(module: str, path: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycle = path[path.index(target):] + [target] if target in path else [module, target]
                raise AssertionError("import cycle: " + " → ".join(cycle))
            if target not in state:
                visit(target, path + [target])
        state[module] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])


def test_dependencies_point_one_way():
    wrong = sorted(f"{module} imports {target}" for module, targets in graph().items() for target in targets
                   if part(module) in ALLOWED and part(target) not in ALLOWED[part(module)] | {part(module)})
    assert not wrong


def test_each_layer_kind_is_one_entry_of_one_family_module():
    """Every kind is declared once, in the ENTRIES of a module of cnnspec/ops/ named for its family."""
    families = sorted(path.stem for path in (PACKAGE / "ops").glob("*.py")
                      if "\nENTRIES = (" in path.read_text(encoding="utf-8"))
    assert families == ["activation", "conv", "input", "linear", "merge", "norm", "pool", "regularization",
                        "reshape"]
    declared = [op.name for family in families for op in getattr(ops, family).ENTRIES]
    assert sorted(declared) == sorted(op.name for op in ops.OPS) and len(set(declared)) == len(declared)
