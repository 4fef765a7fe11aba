"""Load figures on the local server (`python -m local`, moto), over real TCP, against goals:
runs created `--concurrency` at a time through the v1 face (each with its own
Idempotency-Key, every tenth retried), then waited for until all have ended.

- run-create latency, p50 and p95: POST /v1/workflows/{id}/run -> its answer (goal p50
  <= 500 ms, p95 <= 2 s);
- runs/s: runs created per second of the whole round (goal >= 5);
- and the books: lost, stuck, duplicated runs (goal 0 each; tests/load asserts them).

    python -m bench.load [--runs 200] [--concurrency 20]
"""

from __future__ import annotations

import argparse

from tests.load.harness import ENDED, load
from tests.local_server import running

GOALS = {"p50 ms": 500.0, "p95 ms": 2000.0, "runs/s": 5.0}


def line(name: str, measured: float, goal: float, higher_is_better: bool = False) -> None:
    # The ratio reads the same way for every figure: < 1 meets the goal.
    ratio = goal / measured if higher_is_better and measured else measured / goal
    print(f"{name:<40} {measured:>10.1f} goal {goal:>8.1f} ratio {ratio:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=20)
    arguments, _ = parser.parse_known_args()
    with running() as server:
        books = load(server, arguments.runs, arguments.concurrency)
    print(f"{arguments.runs} runs, {arguments.concurrency} concurrent, {books.seconds:.1f} s")
    line("run create p50 (ms)", books.p50, GOALS["p50 ms"])
    line("run create p95 (ms)", books.percentile(0.95), GOALS["p95 ms"])
    line("runs created per second", books.runs_per_second, GOALS["runs/s"], higher_is_better=True)
    ids = list(books.created.values())
    stuck = sum(1 for status in books.final.values() if status not in ENDED)
    print(
        f"lost {arguments.runs - len(books.created)}, stuck {stuck}, "
        f"duplicated {books.listed - len(set(ids))}, failed "
        f"{sum(1 for status in books.final.values() if status == 'FAILED')}"
    )


if __name__ == "__main__":
    main()
