"""Byte code for the Lambda asset: compiled once at build time, byte for byte reproducible.

Without `.pyc` files every cold start compiles each imported module again (the api
function's import took 757 ms instead of 501 ms). The files are written with
UNCHECKED_HASH invalidation: no source timestamp inside (so two builds give the same
bytes and the asset hash stays stable) and no check of the source at import (the asset is
read-only and never edited in place). Kept apart from lambda_asset.py so bench/ can stage
the same tree without importing the CDK.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Where Lambda unpacks the asset: tracebacks name /var/task/functions/…, not the build dir.
LAMBDA_TASK_ROOT = "/var/task"
# The interpreter that compiles must be the runtime's version, or Python ignores the files
# (`__pycache__/x.cpython-311.pyc` is never read by 3.12).
PYTHON_ENV = "STEPCANVAS_ASSET_PYTHON"


def runtime_python(version: str) -> str:
    """A `python<version>` executable (e.g. "3.12"): $STEPCANVAS_ASSET_PYTHON, then PATH,
    then pyenv's versions. Raises with what to install when there is none."""
    explicit = os.environ.get(PYTHON_ENV)
    if explicit:
        return explicit
    if f"{sys.version_info.major}.{sys.version_info.minor}" == version:
        return sys.executable
    # pyenv's interpreters before PATH: its shims answer "command not found" unless the
    # version is selected.
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    pyenv = sorted(root.glob(f"versions/{version}.*/bin/python{version}"))
    found = str(pyenv[-1]) if pyenv else shutil.which(f"python{version}")
    if found is None:
        raise RuntimeError(
            f"the Lambda asset's byte code needs Python {version} (the function runtime); "
            f"install it (pyenv install {version}) or set {PYTHON_ENV}"
        )
    return found


def compile_tree(target: Path, python: str, *, task_root: str = LAMBDA_TASK_ROOT) -> None:
    """Compile every module under `target` in place, as `task_root` names it at run time."""
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            # Paths inside the byte code: the run-time location, not this build's temp dir.
            "-s",
            str(target),
            "-p",
            task_root,
            "--invalidation-mode",
            "unchecked-hash",
            str(target),
        ],
        check=True,
        # One hash seed for every build; marshal output must not depend on the run.
        env={**os.environ, "PYTHONHASHSEED": "0"},
        stdout=subprocess.DEVNULL,
    )
