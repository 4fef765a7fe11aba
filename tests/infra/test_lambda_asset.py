"""The Lambda asset ships reproducible byte code for the runtime's Python (issue 13 item 5).

The templates are the two tests/infra/test_stack.py synthesizes side by side (`synths`):
two independent builds of the asset, which must give one asset hash.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.cold_import import functions as bench_functions
from infra.lambda_asset import RUNTIME
from tests.infra import test_stack
from tests.infra.test_stack import Synth

pytestmark = pytest.mark.xdist_group("infra")

synths = test_stack.synths
synth = test_stack.synth

# What CPython 3.12 writes as the first bytes of a .pyc (importlib.util.MAGIC_NUMBER there).
_MAGIC_312 = (3531).to_bytes(2, "little") + b"\r\n"
# PEP 552 flags: bit 0 "hash-based", bit 1 "check source"; unchecked-hash is 0b01.
_UNCHECKED_HASH = 0b01


def _asset_dirs(synth: Synth) -> list[Path]:
    return sorted(p for p in synth.outdir.glob("asset.*") if (p / "functions").is_dir())


def _handler_modules(synth: Synth) -> list[str]:
    handlers = {f["Properties"]["Handler"] for f in synth.of_type("AWS::Lambda::Function").values()}
    # Ours only: CDK's own custom resources (`__entrypoint__.handler`) ship their own code.
    return sorted(h.rsplit(".", 1)[0] for h in handlers if h.startswith("functions."))


def test_one_asset_whose_hash_two_builds_agree_on(synths: dict[str, Synth]) -> None:
    hashes = {name: [p.name for p in _asset_dirs(s)] for name, s in synths.items()}
    assert all(len(found) == 1 for found in hashes.values()), hashes
    # The asset hash is of the output (AssetHashType.OUTPUT): equal names, equal bytes.
    assert len({found[0] for found in hashes.values()}) == 1, hashes


def test_every_handler_module_ships_unchecked_hash_byte_code_for_the_runtime(
    synth: Synth,
) -> None:
    assert RUNTIME.name == "python3.12", "update _MAGIC_312 with the runtime"
    (asset,) = _asset_dirs(synth)
    modules = _handler_modules(synth)
    assert "functions.api.handler" in modules
    for module in modules:
        source = asset / (module.replace(".", "/") + ".py")
        cached = source.parent / "__pycache__" / f"{source.stem}.cpython-312.pyc"
        header = cached.read_bytes()[:8]
        assert header[:4] == _MAGIC_312, module
        assert int.from_bytes(header[4:8], "little") == _UNCHECKED_HASH, module


def test_the_cold_import_bench_covers_every_function(synth: Synth) -> None:
    benched = {m for function in bench_functions() for m in function.modules}
    assert set(_handler_modules(synth)) <= benched
