"""The package's import graph follows docs/design.md's layer table.

Every module of `asurso_sync` is parsed (never imported); every `import` counts, the ones inside
functions too. The test fails on
* a module of ours that is not in the layer table (a new package gets a row first),
* an import of one of our packages, or of a library outside the standard library, that the
  importing package's row does not allow,
* an import inside a function or behind `except ImportError` (only the `pdf` extra's libraries,
  which need OS libraries, are imported on first use, and only where their row names them),
* `importlib.import_module` / `__import__` (imports said plainly, so this test sees them),
* a cycle, between modules or between packages.
"""

from __future__ import annotations

import ast
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "asurso_sync"
DESIGN = ROOT / "docs" / "design.md"

# Libraries that may be imported on first use (inside a function, behind `except ImportError`):
# the `pdf` extra, which needs Pango from the OS and so is optional.
ON_FIRST_USE = {"weasyprint", "fontTools"}


@dataclass(frozen=True)
class Import:
    module: str  # the importing module, e.g. "asurso_sync.documents.remarks"
    target: str  # a module of ours ("asurso_sync.mirror.db") or a library ("httpx")
    line: int
    local: bool  # inside a function
    guarded: bool  # in the body of a `try` that catches ImportError


def our_modules() -> dict[str, Path]:
    modules = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


MODULES = our_modules()


def unit(module: str) -> str:
    """The layer a module belongs to: `asurso_sync.rules.engine` -> `rules`."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def _ours(name: str) -> str:
    """The longest prefix of a dotted name that is one of our modules."""
    while name not in MODULES and "." in name:
        name = name.rsplit(".", 1)[0]
    return name


def _catches_import_error(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    names = {n.id for n in ast.walk(handler.type) if isinstance(n, ast.Name)}
    names |= {n.attr for n in ast.walk(handler.type) if isinstance(n, ast.Attribute)}
    return bool(names & {"ImportError", "ModuleNotFoundError", "Exception", "BaseException"})


def imports_of(module: str) -> list[Import]:
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: list[Import] = []

    def targets(node: ast.Import | ast.ImportFrom) -> list[str]:
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                source = ".".join([*base, *([node.module] if node.module else [])])
            else:
                source = node.module or ""
            if source.split(".")[0] != "asurso_sync":
                return [source]
            names = [
                f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source
                for a in node.names
            ]
        return [_ours(n) if n.split(".")[0] == "asurso_sync" else n for n in names]

    def visit(node: ast.AST, local: bool, guarded: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import | ast.ImportFrom):
                if isinstance(child, ast.ImportFrom) and child.module == "__future__":
                    continue
                for target in dict.fromkeys(targets(child)):
                    found.append(Import(module, target, child.lineno, local, guarded))
            elif isinstance(child, ast.Call):
                func = child.func
                if isinstance(func, ast.Attribute) and func.attr == "import_module":
                    found.append(
                        Import(module, "importlib.import_module", child.lineno, True, guarded)
                    )
                elif isinstance(func, ast.Name) and func.id == "__import__":
                    found.append(Import(module, "__import__", child.lineno, True, guarded))
            inner = local or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if isinstance(child, ast.Try):
                catches = any(_catches_import_error(h) for h in child.handlers)
                for stmt in child.body:
                    visit_one(stmt, inner, guarded or catches)
                for rest in (*child.handlers, *child.orelse, *child.finalbody):
                    visit_one(rest, inner, guarded)
            else:
                visit(child, inner, guarded)

    def visit_one(node: ast.AST, local: bool, guarded: bool) -> None:
        wrapper = ast.Module(body=[node], type_ignores=[])  # type: ignore[list-item]
        visit(wrapper, local, guarded)

    visit(ast.parse(path.read_text(encoding="utf-8"), str(path)), False, False)
    return found


ALL_IMPORTS = [imp for module in MODULES for imp in imports_of(module)]


def layer_table() -> dict[str, tuple[set[str], set[str]]]:
    """docs/design.md's layer table: unit -> (units of ours it may import, libraries)."""
    text = DESIGN.read_text(encoding="utf-8")
    start = text.index("| package or module |")
    rows = {}
    for line in text[start:].splitlines()[2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip("|").split("|")]
        path = re.findall(r"`([^`]+)`", cells[0])[0].rstrip("/")
        name = Path(path).stem if path.endswith(".py") else Path(path).name
        name = "asurso_sync" if name == "__init__" else name
        rows[name] = (
            set(re.findall(r"`([^`]+)`", cells[2])),
            set(re.findall(r"`([^`]+)`", cells[3])),
        )
    return rows


def problems() -> dict[tuple[str, str], list[str]]:
    """(importing module, target) -> what is wrong with that import."""
    table = layer_table()
    out: dict[tuple[str, str], list[str]] = defaultdict(list)
    for imp in ALL_IMPORTS:
        src = unit(imp.module)
        ours = imp.target.split(".")[0] == "asurso_sync"
        library = imp.target.split(".")[0]
        dynamic = imp.target in {"importlib.import_module", "__import__"}
        where = f"{MODULES[imp.module].relative_to(ROOT)}:{imp.line}"
        if dynamic:
            out[imp.module, imp.target].append(f"{where}: dynamic import ({imp.target})")
            continue
        first_use = not ours and library in ON_FIRST_USE and library in table[src][1]
        if imp.local and not first_use:
            out[imp.module, imp.target].append(f"{where}: import inside a function")
        if imp.guarded and not first_use:
            out[imp.module, imp.target].append(f"{where}: import behind except ImportError")
        if ours:
            dst = unit(imp.target)
            # the root package holds only __version__ and may be read by anyone
            if dst != src and dst != "asurso_sync" and dst not in table[src][0]:
                out[imp.module, imp.target].append(
                    f"{where}: {src} may not import {dst} (docs/design.md)"
                )
        elif library not in sys.stdlib_module_names and library not in table[src][1]:
            out[imp.module, imp.target].append(
                f"{where}: {src} may not use the library {library} (docs/design.md)"
            )
    return out


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm: the graph's cycles, as groups of nodes that reach each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                group.append(member)
                if member == node:
                    break
            if len(group) > 1 or node in graph.get(node, ()):
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return groups


def graphs() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Module graph and package graph of our imports."""
    modules: dict[str, set[str]] = defaultdict(set)
    units: dict[str, set[str]] = defaultdict(set)
    for imp in ALL_IMPORTS:
        if imp.target.split(".")[0] != "asurso_sync" or imp.target == imp.module:
            continue
        modules[imp.module].add(imp.target)
        if unit(imp.module) != unit(imp.target):
            units[unit(imp.module)].add(unit(imp.target))
    return modules, units


def test_the_walk_sees_every_kind_of_import():
    """The walker itself: a local, a guarded, a relative and a dynamic import are all seen."""
    seen = {(i.target, i.local, i.guarded) for i in ALL_IMPORTS}
    assert ("asurso_sync.errors", False, False) in seen  # config imports errors at the top
    assert any(local for _, local, _ in seen)
    assert any(guarded for _, _, guarded in seen)
    assert len(MODULES) > 50 and "asurso_sync.cli" in MODULES


def test_every_package_has_a_row_in_the_layer_table():
    table = layer_table()
    missing = sorted({unit(m) for m in MODULES} - set(table))
    assert missing == [], f"add a row to docs/design.md for: {missing}"
    unknown = sorted({u for ours, _ in table.values() for u in ours} - set(table))
    assert unknown == [], f"the layer table names packages that are not rows: {unknown}"


def test_the_layer_table_itself_has_no_cycle():
    table = layer_table()
    assert strongly_connected({u: set(ours) - {u} for u, (ours, _) in table.items()}) == []


def test_imports_follow_the_layer_table_and_are_said_plainly():
    found = problems()
    assert found == {}, "\n".join(w for why in found.values() for w in why)


def test_no_import_cycle_between_modules_or_packages():
    modules, units = graphs()
    assert strongly_connected(modules) == []
    assert strongly_connected(units) == []


def test_the_simulator_shares_no_code_with_the_client():
    simulator = [i for i in ALL_IMPORTS if unit(i.module) == "simulator"]
    assert simulator, "the walk found no simulator module"
    foreign = [
        i
        for i in simulator
        if unit(i.target) != "simulator" and i.target.split(".")[0] not in sys.stdlib_module_names
    ]
    assert foreign == []


def test_only_portal_speaks_http():
    users = {unit(i.module) for i in ALL_IMPORTS if i.target.split(".")[0] in {"httpx", "bs4"}}
    assert users == {"portal"}


def test_test_helpers_are_imported_one_way_and_defined_once():
    """Helpers by their module name (tests/ is on the path): never `tests.x`, never conftest;
    the simulator's request headers and the `school` fixture exist once."""
    tests = Path(__file__).resolve().parent
    wrong, headers, schools = [], [], []
    for path in sorted(tests.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.module and not node.level:
                if node.module.split(".")[0] in {"tests", "conftest"}:
                    wrong.append(f"{path.name}:{node.lineno}: from {node.module}")
            elif isinstance(node, ast.Assign) and any(
                isinstance(t, ast.Name) and t.id == "HEADERS" for t in node.targets
            ):
                headers.append(path.name)
            elif isinstance(node, ast.FunctionDef) and node.name == "school":
                schools.append(path.name)
    assert wrong == []
    assert headers == ["simclient.py"]
    assert schools == ["conftest.py"]
