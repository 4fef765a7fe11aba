"""`make bench`: every benchmark in turn, each printing its own figures."""

from __future__ import annotations

from bench import (
    canvas_latency,
    compile_cost,
    replay_latency,
    retention_sweep,
    service_latency,
    transitions,
    trigger_latency,
    v1_run_latency,
)

for module in (
    compile_cost,
    transitions,
    v1_run_latency,
    service_latency,
    trigger_latency,
    canvas_latency,
    replay_latency,
    retention_sweep,
):
    print(f"\n== {module.__name__} ==", flush=True)
    module.main()
