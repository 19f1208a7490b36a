"""The house's shape, as the README's developer map states it: stage folders under
`pipeline/` with no import cycle between them (function-level imports included), at most
eight modules at the package root, and modules a newcomer reads in one sitting."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "pipeline"


def _folder(module: str) -> str:
    """pipeline.ledger.records → pipeline.ledger; a root module is its own node."""
    return ".".join(module.split(".")[:2])


def _imports(path: Path, name: str) -> set[str]:
    """The package's modules that the file imports anywhere in its body."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("pipeline")}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's package, up level - 1
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            if base.startswith("pipeline"):
                found.add(base)
    return found


def folder_graph() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        here = _folder(name)
        targets = {_folder(t) for t in _imports(path, name)} - {here}
        edges.setdefault(here, set()).update(targets)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph, or [] (depth-first search)."""
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    stack: list[str] = []

    def visit(node: str) -> list[str]:
        state[node] = 1
        stack.append(node)
        for target in sorted(edges.get(node, ())):
            if state.get(target) == 1:
                return [*stack[stack.index(target) :], target]
            if target not in state and (found := visit(target)):
                return found
        stack.pop()
        state[node] = 2
        return []

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return []


def test_no_import_cycle_between_stage_folders() -> None:
    edges = folder_graph()
    assert {"pipeline.ledger", "pipeline.standings", "pipeline.issuance"} <= set(edges)
    assert "pipeline.ledger" in edges["pipeline.standings"]  # the graph sees real imports
    assert _cycle(edges) == [], " → ".join(_cycle(edges))


def test_the_cycle_finder_finds_one() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) == []


def test_the_root_holds_few_modules_and_every_module_is_short() -> None:
    root = sorted(p.name for p in PACKAGE.glob("*.py"))
    assert len(root) <= 8, root
    long = {
        str(p.relative_to(PACKAGE)): n
        for p in PACKAGE.rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}, long
