"""Cold import of every Lambda function's handler, against `import boto3` alone.

    python -m bench.cold_import

Each figure is one fresh interpreter importing the handler module, median of REPEATS, the
baseline measured the same way in the same run. The code is staged as the asset ships it
(infra/asset_bytecode.py: our packages copied, `.pyc` compiled unchecked-hash), the
dependencies are this virtualenv's (pip compiled them at install). Goals (issue 13
item 5): the api function at most 1.3x, node functions at most 1.2x; the others are
reported. "+ boto3" is the same process importing boto3 afterwards: what the first
invocation loads in all when it calls AWS (handlers load boto3 on first use).
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from functions.nodes.catalog import NODES, RUNS_HANDLER, SANDBOX_HANDLER
from infra.asset_bytecode import compile_tree

REPO_ROOT = Path(__file__).resolve().parent.parent
REPEATS = 5
API_GOAL = 1.3
NODE_GOAL = 1.2
_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "requirements.txt")

# Prints the import's seconds, whether boto3 came with it, and the seconds of boto3 after.
_CHILD = """
import importlib, sys, time
started = time.perf_counter()
for name in sys.argv[1:]:
    importlib.import_module(name)
imported = time.perf_counter() - started
loaded = "boto3" in sys.modules
started = time.perf_counter()
import boto3
print(imported, int(loaded), imported + time.perf_counter() - started)
"""


@dataclass(frozen=True)
class Function:
    name: str
    modules: tuple[str, ...]
    goal: float | None


def _module(handler: str) -> str:
    return handler.rsplit(".", 1)[0]


def functions() -> list[Function]:
    """Every function of the stack and the module its handler lives in (infra/)."""
    found = [
        Function("api", ("functions.api.handler",), API_GOAL),
        # run.sh starts uvicorn on the ASGI app.
        Function("stream", ("uvicorn", "functions.stream.app"), None),
        Function("authorizer", ("functions.authorizer.handler",), None),
        Function("dispatcher", ("functions.dispatcher.handler",), None),
        Function("runs", (_module(RUNS_HANDLER),), None),
        Function("retention", ("functions.retention.handler",), None),
        Function("sandbox", (_module(SANDBOX_HANDLER),), None),
    ]
    found += [
        Function(spec.function_name, (_module(spec.handler),), NODE_GOAL) for spec in NODES.values()
    ]
    return found


def stage(target: Path) -> None:
    """The asset's own code with its byte code, compiled for this interpreter."""
    for package in ("functions", "statemachines"):
        shutil.copytree(REPO_ROOT / package, target / package, ignore=_COPY_IGNORE)
    compile_tree(target, sys.executable, task_root=str(target))


def _once(root: Path, modules: tuple[str, ...]) -> tuple[float, bool, float]:
    env = {**os.environ, "PYTHONPATH": str(root), "AWS_REGION": "us-east-1"}
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, *modules],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(out[0]) * 1000, out[1] == "1", float(out[2]) * 1000


def measure(root: Path, modules: tuple[str, ...]) -> tuple[float, bool, float]:
    runs = [_once(root, modules) for _ in range(REPEATS)]
    return (
        statistics.median(r[0] for r in runs),
        any(r[1] for r in runs),
        statistics.median(r[2] for r in runs),
    )


def main() -> None:
    with tempfile.TemporaryDirectory() as temp:
        root = Path(temp)
        stage(root)
        baseline, _, _ = measure(root, ("boto3",))
        print(f"import boto3 alone: {baseline:.0f} ms (median of {REPEATS} fresh processes)")
        print(
            f"{'function':<28} {'import ms':>9} {'x boto3':>8} {'goal':>6} {'ratio':>6}"
            f" {'boto3?':>7} {'+ boto3':>8}"
        )
        for function in functions():
            took, loaded, with_boto3 = measure(root, function.modules)
            times = took / baseline
            goal = f"{function.goal:.1f}" if function.goal else "-"
            ratio = f"{times / function.goal:.2f}" if function.goal else "-"
            print(
                f"{function.name:<28} {took:>9.0f} {times:>8.2f} {goal:>6} {ratio:>6}"
                f" {'yes' if loaded else 'no':>7} {with_boto3 / baseline:>8.2f}"
            )


if __name__ == "__main__":
    main()
