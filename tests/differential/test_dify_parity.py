"""Stepcanvas against Dify's own engine on random valid Dify workflows (tests/differential).

The same generated YAML and inputs run through both; they must agree under the README's
parity policy (policy.py). `DIFFERENTIAL_WORKFLOWS` sets how many workflows (default 20,
`make differential` runs 1,000) and `DIFFERENTIAL_SEED` the first seed. A failure names
each differing case's seed and inputs, and prints the first ones minimised.
"""

from __future__ import annotations

import os
import time

import pytest
import yaml

from tests.differential import engines, policy
from tests.differential.engines import Case
from tests.differential.generator import generate
from tests.differential.minimise import minimise
from tests.local_server import Server

pytestmark = pytest.mark.xdist_group("differential")

WORKFLOWS = int(os.environ.get("DIFFERENTIAL_WORKFLOWS", "20"))
FIRST_SEED = int(os.environ.get("DIFFERENTIAL_SEED", "0"))
MINIMISED = 3


def test_stepcanvas_runs_random_workflows_as_difys_engine_does(server: Server) -> None:
    started = time.monotonic()
    flows = [generate(FIRST_SEED + n) for n in range(WORKFLOWS)]
    runs = [(flow.seed, Case(flow.yaml(), inputs)) for flow in flows for inputs in flow.inputs]
    cases = [case for _, case in runs]

    theirs = engines.dify(cases)
    ours = engines.stepcanvas(server, cases)

    differing = []
    for (seed, case), dify, mine in zip(runs, theirs, ours, strict=True):
        found = policy.difference(dify, mine, policy.markers(yaml.safe_load(case.yaml)))
        if found:
            differing.append((seed, case, found))
    completed = sum(1 for d in theirs if d.status in ("succeeded", "partial-succeeded"))
    print(
        f"\ndifferential: {len(flows)} workflows, {len(cases)} runs, Dify completed "
        f"{completed}, {len(cases) - len(differing)} agree, in {time.monotonic() - started:.0f} s"
    )
    assert not differing, _report(server, differing)


def _report(server: Server, differing: list[tuple[int, Case, str]]) -> str:
    lines = [f"{len(differing)} runs differ from Dify's engine:"]
    lines += [f"  seed {seed} inputs {case.inputs}: {found}" for seed, case, found in differing]
    for seed, case, found in differing[:MINIMISED]:

        def still_differs(text: str, inputs: dict[str, object] = case.inputs) -> bool:
            smaller = Case(text, inputs)
            dify = engines.dify([smaller])[0]
            mine = engines.stepcanvas(server, [smaller])[0]
            ignored = policy.markers(yaml.safe_load(text))
            return dify.status != "refused" and bool(policy.difference(dify, mine, ignored))

        lines += [
            f"\n--- seed {seed}, inputs {case.inputs}, minimised ({found}):",
            minimise(case.yaml, still_differs),
        ]
    return "\n".join(lines)
