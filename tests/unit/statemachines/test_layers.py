"""The compiler is a pure function over the core's model: its modules import the standard
library and functions.core, never a node, a face, the local stand-in or an AWS SDK, not
even inside a function."""

from __future__ import annotations

import sys
from pathlib import Path

from tests.unit.module_imports import imported_names

COMPILER = Path(__file__).resolve().parents[3] / "statemachines" / "compiler"
ALLOWED = ("functions.core", "statemachines.compiler")


def test_the_compiler_imports_only_the_standard_library_and_the_core() -> None:
    found = {
        f"{path.name}: {name}"
        for path in COMPILER.glob("*.py")
        for name in imported_names(path)
        if name.split(".")[0] not in sys.stdlib_module_names
        and not any(name == allowed or name.startswith(f"{allowed}.") for allowed in ALLOWED)
    }
    assert not found, sorted(found)
    assert len(list(COMPILER.glob("*.py"))) > 5  # the walk saw the package
