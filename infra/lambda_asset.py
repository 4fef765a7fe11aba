"""The one code asset every Stepcanvas function runs from, built on this machine (no Docker).

Handlers import `functions.…` and the compiler's `statemachines` package, so the asset root
holds both packages next to the wheels of `functions/requirements.txt`, all of it with
reproducible byte code for the runtime's Python (infra/asset_bytecode.py).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import jsii
from aws_cdk import AssetHashType, BundlingOptions, DockerImage, ILocalBundling
from aws_cdk import aws_lambda as lambda_

from infra.asset_bytecode import compile_tree, runtime_python

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("functions", "statemachines")
REQUIREMENTS = REPO_ROOT / "functions" / "requirements.txt"

RUNTIME = lambda_.Runtime.PYTHON_3_12
ARCHITECTURE = lambda_.Architecture.ARM_64
# Wheels are chosen for the Lambda runtime and CPU, not for this machine, or binary wheels
# (pydantic-core) fail to import in Lambda.
_PIP_PLATFORMS = {"arm64": "manylinux2014_aarch64", "x86_64": "manylinux2014_x86_64"}

# Tests and quick local synths skip the pip step (slow, needs the package index); the asset
# then holds only our own code and must never be deployed:
#   STEPCANVAS_SKIP_DEP_INSTALL=1 python app.py     (or ... cdk synth)
SKIP_DEPENDENCY_INSTALL_ENV = "STEPCANVAS_SKIP_DEP_INSTALL"

_COPY_IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "tests", "requirements.txt")


@jsii.implements(ILocalBundling)
class _LocalBundler:
    def __init__(self, *, install_dependencies: bool) -> None:
        self._install_dependencies = install_dependencies

    def try_bundle(self, output_dir: str, *, image: DockerImage, **_options: object) -> bool:
        target = Path(output_dir)
        for package in PACKAGES:
            shutil.copytree(REPO_ROOT / package, target / package, ignore=_COPY_IGNORE)
        if self._install_dependencies:
            _pip_install(target)
        # Our code and the wheels alike, for the runtime's Python, reproducibly.
        compile_tree(target, runtime_python(RUNTIME.name.removeprefix("python")))
        # True tells CDK the bundle is complete, so it never falls back to Docker.
        return True


def _pip_install(target: Path) -> None:
    subprocess.run(  # noqa: S603 - fixed argument list, no shell
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--requirement",
            str(REQUIREMENTS),
            "--target",
            str(target),
            "--platform",
            _PIP_PLATFORMS[ARCHITECTURE.name],
            "--python-version",
            RUNTIME.name.removeprefix("python"),
            "--implementation",
            "cp",
            "--only-binary=:all:",
            # pip would compile for this interpreter with timestamps (a new asset hash on
            # every synth); compile_tree does it for the runtime, reproducibly.
            "--no-compile",
            "--quiet",
        ],
        check=True,
    )


def lambda_code() -> lambda_.Code:
    """Build the asset once; every function binds this same object, so it is staged once."""
    skip = os.environ.get(SKIP_DEPENDENCY_INSTALL_ENV) == "1"
    bundler = _LocalBundler(install_dependencies=not skip)
    return lambda_.Code.from_asset(
        str(REPO_ROOT),
        # Hash what is shipped, not the repository: the source path is the whole checkout
        # (virtualenv, cdk.out, tests), and the skip switch changes the output.
        asset_hash_type=AssetHashType.OUTPUT,
        bundling=BundlingOptions(
            # Never pulled: local bundling always succeeds, and CDK requires an image.
            image=DockerImage.from_registry("unused"),
            local=bundler,
        ),
    )
