"""The domain core is the bottom layer: no module of functions/core imports a node, a
face, the compiler or the local stand-in, not even inside a function. What it needs of
the node types and the compiler goes through functions/core/catalog.py."""

from __future__ import annotations

import ast
from pathlib import Path

CORE = Path(__file__).resolve().parents[3] / "functions" / "core"
ABOVE = (
    "functions.nodes",
    "functions.api",
    "functions.stream",
    "functions.wiring",
    "functions.dispatcher",
    "functions.runs",
    "statemachines",
    "local",
    "tools",
)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_no_core_module_imports_a_layer_above_it() -> None:
    found = {
        f"{path.relative_to(CORE)}: {name}"
        for path in CORE.rglob("*.py")
        for name in _imports(path)
        if any(name == layer or name.startswith(f"{layer}.") for layer in ABOVE)
    }
    assert not found, sorted(found)
    assert len(list(CORE.rglob("*.py"))) > 40  # the walk saw the core
