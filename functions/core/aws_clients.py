"""boto3 handles shared by every module that calls AWS, safe to use from many threads.

boto3 clients are thread-safe once made, but making one from the default session is not
(two threads at once can break the session's loaders), and resources (the DynamoDB
`Table`) are not thread-safe at all. Locally one process runs every function on many
threads, so clients are made under a lock and shared, and resources are kept per thread.
Handles are made lazily: importing a handler costs nothing.
"""

from __future__ import annotations

import threading
from typing import Any

import boto3
from botocore.config import Config

from functions.core.settings import get_settings

_lock = threading.Lock()
# One session: its loader caches the service models, so making a handle for a new thread
# costs microseconds (a session per thread would parse the models again each time).
_session: boto3.session.Session | None = None
_clients: dict[tuple[str, str, int], Any] = {}
_per_thread = threading.local()
# Bumped by reset(), so every thread's resources are made anew too.
_generation = 0


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
    cached = getattr(_per_thread, "table", None)
    if cached is None or cached[0] != _generation:
        settings = get_settings()
        with _lock:
            resource = _shared_session().resource("dynamodb", region_name=settings.region)
        cached = (_generation, resource.Table(settings.table_name))
        _per_thread.table = cached
    return cached[1]


def _shared_session() -> boto3.session.Session:
    """The process's session; callers hold the lock."""
    global _session  # noqa: PLW0603 - made once per process (and per reset)
    if _session is None:
        _session = boto3.session.Session()
    return _session


def reset() -> None:
    """Forget every handle (tests and local/ switch between moto sessions)."""
    global _generation, _session  # noqa: PLW0603 - process-wide state is the point
    with _lock:
        _clients.clear()
        _session = None
        _generation += 1
