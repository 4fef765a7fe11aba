"""`make bench`: every benchmark in turn, each printing its own figures."""

from __future__ import annotations

from bench import (
    canvas_latency,
    cold_import,
    compile_cost,
    event_log,
    load,
    local_engine,
    replay_latency,
    retention_sweep,
    service_latency,
    transitions,
    trigger_latency,
    v1_run_latency,
)

for module in (
    compile_cost,
    cold_import,
    transitions,
    event_log,
    local_engine,
    v1_run_latency,
    service_latency,
    trigger_latency,
    canvas_latency,
    replay_latency,
    retention_sweep,
    load,
):
    print(f"\n== {module.__name__} ==", flush=True)
    module.main()
