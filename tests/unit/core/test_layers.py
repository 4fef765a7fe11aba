"""The domain core is the bottom layer: no module of functions/core imports a node, a
face, the compiler or the local stand-in, not even inside a function. What it needs of
the node types and the compiler goes through functions/core/catalog.py."""

from __future__ import annotations

from pathlib import Path

from tests.unit.module_imports import imported_names

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


def test_no_core_module_imports_a_layer_above_it() -> None:
    found = {
        f"{path.relative_to(CORE)}: {name}"
        for path in CORE.rglob("*.py")
        for name in imported_names(path)
        if any(name == layer or name.startswith(f"{layer}.") for layer in ABOVE)
    }
    assert not found, sorted(found)
    assert len(list(CORE.rglob("*.py"))) > 40  # the walk saw the core
