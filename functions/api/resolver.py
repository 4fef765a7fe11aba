"""The api function's Powertools resolver, with a request's state kept per thread.

Powertools keeps the request being served in class-level and instance state: the event and
Lambda context on `BaseRouter` (which every included Router reads through the resolver),
the route and its arguments in the resolver's `context` dict. That is right for Lambda,
where an execution environment serves one invocation at a time. The local gateway serves
the same resolver from many threads at once, one request per thread, so here each thread
gets its own event, context and dict: a thread is what an execution environment is in
Lambda, and two requests never read each other's tenant, key or route. In Lambda there is
one thread and nothing changes.

What Powertools builds once and then only reads (the routes, each route's middleware
stack) is shared; `warm` builds the stacks up front, as their lazy first build is not
thread-safe (two threads building one route's stack would wrap its middlewares twice).
"""

from __future__ import annotations

import threading
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver
from aws_lambda_powertools.utilities.data_classes.common import BaseProxyEvent
from aws_lambda_powertools.utilities.typing import LambdaContext


class _RequestState(threading.local):
    """One thread's request: what Powertools would keep on the class and the instance."""

    def __init__(self) -> None:
        self.event: BaseProxyEvent | None = None
        self.lambda_context: LambdaContext | None = None
        self.context: dict[str, Any] = {}
        self.stack_frames: list[str] = []


class PerThreadResolver(APIGatewayRestResolver):
    def __init__(self, **kwargs: Any) -> None:
        # Set before super().__init__, which assigns `context` and `processed_stack_frames`.
        self._request = _RequestState()
        super().__init__(**kwargs)

    def resolve(self, event: Any, context: Any) -> dict[str, Any]:
        # Powertools also sets BaseRouter.current_event, shared by every thread: nothing
        # here reads it, since every Router reads the event through this resolver.
        self._request.event = self._to_proxy_event(event)
        self._request.lambda_context = context
        try:
            answer: dict[str, Any] = super().resolve(event, context)
            return answer
        finally:
            self._request.event = self._request.lambda_context = None

    @property  # type: ignore[override]
    def current_event(self) -> BaseProxyEvent:
        event = self._request.event
        if event is None:
            raise RuntimeError("no request is being resolved on this thread")
        return event

    @current_event.setter
    def current_event(self, value: BaseProxyEvent) -> None:
        self._request.event = value

    @property  # type: ignore[override]
    def lambda_context(self) -> LambdaContext:
        found = self._request.lambda_context
        if found is None:
            raise RuntimeError("no request is being resolved on this thread")
        return found

    @lambda_context.setter
    def lambda_context(self, value: LambdaContext) -> None:
        self._request.lambda_context = value

    @property  # type: ignore[override]
    def context(self) -> dict[str, Any]:
        return self._request.context

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._request.context = value

    @property  # type: ignore[override]
    def processed_stack_frames(self) -> list[str]:
        return self._request.stack_frames

    @processed_stack_frames.setter
    def processed_stack_frames(self, value: list[str]) -> None:
        self._request.stack_frames = value

    def warm(self) -> None:
        """Build every route's middleware stack now, on one thread."""
        for route in [*self._static_routes, *self._dynamic_routes]:
            route._build_middleware_stack(router_middlewares=self._router_middlewares, app=self)
