"""Table handles and threads (issue 10, defect 10).

"Query condition missed key schema element: PK" (1 request in 1,548, 20 clients creating
and polling runs) came from one boto3 `Table` shared by every thread. A DynamoDB resource
turns `Key("PK").eq(..) & Key("SK").between(..)` into `#n0 = :v0 AND #n1 BETWEEN ..` with
one ConditionExpressionBuilder per client, whose placeholder counters each build resets:
a second thread's build in between numbers the SK placeholder `#n0` again, the names map
`#n0` to SK, and the Query names no PK. A handle must therefore never be in use by two
threads at once; these tests hold aws_clients.table() to that, the pool of idle handles
included.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from functions.core import aws_clients
from local import aws

THREADS = 8


def _on_threads_at_once(count: int, work: Callable[[], Any]) -> list[Any]:
    """`work()` on `count` threads that are all alive until every one has finished."""
    done = threading.Barrier(count)

    def run() -> Any:
        value = work()
        done.wait()
        return value

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(lambda _: run(), range(count)))


def _on_a_thread(work: Callable[[], Any]) -> Any:
    """`work()` on a thread of its own, which has ended when this returns."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(work()))
    thread.start()
    thread.join()
    return result[0]


def test_threads_running_at_once_never_share_a_table_handle(local_aws: aws.LocalAws) -> None:
    for _ in range(3):  # later rounds take the first round's handles from the pool
        handles = _on_threads_at_once(THREADS, aws_clients.table)

        assert len({id(handle) for handle in handles}) == THREADS
        # The condition builder lives on the client: clients must differ too.
        assert len({id(handle.meta.client) for handle in handles}) == THREADS


def test_a_handle_is_reused_only_once_its_thread_has_ended(local_aws: aws.LocalAws) -> None:
    ended = _on_a_thread(aws_clients.table)
    release = threading.Event()
    holding: list[Any] = []

    def hold() -> None:
        holding.append(aws_clients.table())
        release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        while not holding:
            release.wait(0.01)
        other = _on_a_thread(aws_clients.table)
    finally:
        release.set()
        holder.join()

    assert holding[0] is ended  # the pool gave the ended thread's handle to the next one
    assert other is not holding[0]  # and never one a live thread holds
