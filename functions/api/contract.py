"""What each route promises, beside the route itself, for the OpenAPI document to state.

The routes read their bodies through functions/api/bodies.py, not Powertools body
parameters (see there why), so Powertools cannot see a route's body model, its real
status codes or which key opens it. `documented` records them on the route function, from
the same pydantic model the route validates with; functions/api/docs.py writes them into
the document. Each route states only what is particular to it: the answers every route of
its kind gives (401/403 behind the authorizer, 400/415 for a body, 404 for a path id, 409
for a run start's Idempotency-Key) are added from the route's shape.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Any, TypeVar

from pydantic import BaseModel

Route = TypeVar("Route", bound=Callable[..., Any])


class Face(Enum):
    """Which credential opens a route (DESIGN §7)."""

    ACCOUNT = "account"  # X-API-Key or Bearer account key
    APP = "app"  # Bearer app key (Dify's service API)
    EITHER = "either"  # POST /v1/workflows/{id}/run: the credential chooses the face
    PUBLIC = "public"  # no key (webhooks: signed instead)


class Media(Enum):
    JSON = "application/json"
    MULTIPART = "multipart/form-data"


@dataclass(frozen=True)
class Contract:
    face: Face
    tag: str
    success: int
    # The body's model; two when the credential chooses which one the route reads.
    body: tuple[type[BaseModel], ...]
    media: Media
    # Answers particular to this route, beyond those of its shape (a second success
    # status, such as 202 for a background run, among them).
    errors: frozenset[int]
    # The route starts a run: it takes an Idempotency-Key (400 malformed, 409 reused).
    starts_run: bool
    # The route may answer a server-sent event stream instead of JSON.
    streams: bool

    def error_statuses(self, *, has_path_params: bool, has_query_params: bool) -> list[int]:
        statuses = set(self.errors)
        if self.face is not Face.PUBLIC:
            statuses |= {401, 403}
        if self.face in (Face.APP, Face.EITHER):
            # `app_unavailable`: the app key's workflow was disabled, unpublished or deleted.
            statuses.add(400)
        if self.body:
            statuses |= {400, 415}
        if has_query_params:
            statuses.add(400)
        if has_path_params:
            statuses.add(404)
        if self.starts_run:
            statuses |= {400, 409}
        return sorted(statuses)


# What a route that states no contract is taken to be: an account route answering JSON.
ASSUMED = Contract(
    face=Face.ACCOUNT,
    tag="v1",
    success=200,
    body=(),
    media=Media.JSON,
    errors=frozenset(),
    starts_run=False,
    streams=False,
)
_CONTRACTS: dict[Callable[..., Any], Contract] = {}


def documented(
    face: Face,
    tag: str,
    *,
    success: int = 200,
    body: type[BaseModel] | tuple[type[BaseModel], ...] = (),
    media: Media = Media.JSON,
    errors: Iterable[int] = (),
    starts_run: bool = False,
    streams: bool = False,
) -> Callable[[Route], Route]:
    """Record a route's contract; put it beneath the router's decorator."""
    contract = Contract(
        face=face,
        tag=tag,
        success=success,
        body=body if isinstance(body, tuple) else (body,),
        media=media,
        errors=frozenset(errors),
        starts_run=starts_run,
        streams=streams,
    )

    def record(route: Route) -> Route:
        _CONTRACTS[route] = contract
        return route

    return record


def of(route: Callable[..., Any]) -> Contract | None:
    return _CONTRACTS.get(route)
