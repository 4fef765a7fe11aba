"""boto3 handles shared by every module that calls AWS, safe to use from many threads.

boto3 clients are thread-safe once made, but making one from the default session is not
(two threads at once can break the session's loaders), and resources (the DynamoDB
`Table`) are not thread-safe at all. Locally one process runs every function on many
threads, so clients are made under a lock and shared, and a resource is used by one
thread at a time. Handles are made lazily, and boto3 itself (~250 ms to import, more than most
handlers' own code) is imported on first use: importing this module costs nothing.
"""

from __future__ import annotations

import threading
import weakref
from typing import TYPE_CHECKING, Any

from functions.core.settings import get_settings

if TYPE_CHECKING:
    import boto3
    from botocore.config import Config

_lock = threading.Lock()
# One session: its loader caches the service models, so making a handle for a new thread
# costs microseconds (a session per thread would parse the models again each time).
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str, int], Any] = {}
_per_thread = threading.local()
# Bumped by reset(), so every thread's resources are made anew too.
_generation = 0
# Table handles of threads that have ended, for the next new thread: moto's Step
# Functions interpreter runs every state on a thread of its own, and making a resource
# costs ~20 ms, a node's whole budget.
_idle_tables: list[tuple[int, Any]] = []


class _Lease:
    """A thread's hold on a table handle: the thread's end drops it, which frees the handle."""

    def __init__(self, handle: tuple[int, Any]) -> None:
        self.handle = handle
        weakref.finalize(self, _idle_tables.append, handle)


def client(service: str, region: str | None = None, config: Config | None = None) -> Any:
    """The shared client of `service` (in the deployment's region unless told)."""
    key = (service, region or get_settings().region, id(config) if config else 0)
    found = _clients.get(key)
    if found is None:
        with _lock:
            found = _clients.get(key)
            if found is None:
                found = _shared_session().client(service, region_name=key[1], config=config)
                _clients[key] = found
    return found


def table() -> Any:
    """This thread's handle on the one DynamoDB table."""
    lease: _Lease | None = getattr(_per_thread, "table", None)
    if lease is None or lease.handle[0] != _generation:
        lease = _Lease(_idle_table() or _new_table())
        _per_thread.table = lease
    return lease.handle[1]


def _idle_table() -> tuple[int, Any] | None:
    with _lock:
        while _idle_tables:
            handle = _idle_tables.pop()
            if handle[0] == _generation:
                return handle
    return None


def _new_table() -> tuple[int, Any]:
    settings = get_settings()
    with _lock:
        resource = _shared_session().resource("dynamodb", region_name=settings.region)
        return _generation, resource.Table(settings.table_name)


def _shared_session() -> boto3.session.Session:
    """The process's session; callers hold the lock."""
    global _session  # noqa: PLW0603 - made once per process (and per reset)
    if _session is None:
        import boto3  # noqa: PLC0415 - on first use, not at import (see the module doc)

        _session = boto3.session.Session()
    return _session


def reset() -> None:
    """Forget every handle (tests and local/ switch between moto sessions)."""
    global _generation, _session  # noqa: PLW0603 - process-wide state is the point
    with _lock:
        _clients.clear()
        _idle_tables.clear()
        _session = None
        _generation += 1
