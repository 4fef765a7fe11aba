"""The viewer's public routes: its two pages and their static files.

They hold no data, so API Gateway and the local gateway serve them without a key
(infra/api.py UNAUTHENTICATED_ROUTES lists PUBLIC_PATHS); the script in the page asks for
the key once, keeps it in the browser's storage and sends it in the `X-API-Key` header, so
it never appears in a URL (where logs, history and referrers would keep it).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from functions.core.errors import NotFound

# In API Gateway's spelling (and Starlette's, for the local gateway).
RUN_PAGE = "/ui/runs/{runId}"
RUNS_PAGE = "/ui/workflows/{id}/runs"
ASSET_PATH = "/ui/assets/{name}"
PUBLIC_PATHS = (RUN_PAGE, RUNS_PAGE, ASSET_PATH)

STATIC = Path(__file__).with_name("static")
_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".svg": "image/svg+xml",
}
# The page loads only its own files and talks only to its own API; it may not be framed
# (a frame could overlay the key field). Styles set from the script (CSSOM) are allowed.
_PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-cache",
}

router = Router()  # type: ignore[no-untyped-call]  # Powertools leaves __init__ unannotated


@dataclass(frozen=True)
class Asset:
    body: str
    content_type: str
    etag: str


def _assets() -> dict[str, Asset]:
    """Every file the pages may load, read once per execution environment."""
    found = {}
    for path in sorted(STATIC.iterdir()):
        if path.suffix in _TYPES:
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode()).hexdigest()[:16]
            found[path.name] = Asset(body, _TYPES[path.suffix], f'"{digest}"')
    return found


ASSETS = _assets()
_TEMPLATE = (STATIC / "index.html").read_text(encoding="utf-8")


def page(kind: str, depth: int) -> Response[str]:
    """The page shell. Assets are named relative to the page (`depth` segments below
    /ui/), so the same HTML works at the API's root, under a stage or a custom domain."""
    assets = "../" * depth + "assets/"
    html = _TEMPLATE.replace("__ASSETS__", assets).replace("__PAGE__", kind)
    return Response(
        status_code=200,
        content_type="text/html; charset=utf-8",
        body=html,
        headers=_PAGE_HEADERS,
    )


@router.get("/ui/runs/<run_id>", include_in_schema=False)
def run_page(run_id: str) -> Response[str]:
    # The script reads the run id from the address; nothing of it is written into HTML.
    del run_id
    return page("run", 1)


@router.get("/ui/workflows/<workflow_id>/runs", include_in_schema=False)
def runs_page(workflow_id: str) -> Response[str]:
    del workflow_id
    return page("runs", 2)


@router.get("/ui/assets/<name>", include_in_schema=False)
def asset(name: str) -> Response[Any]:
    found = ASSETS.get(name)
    if found is None:
        raise NotFound("asset", name)
    headers = {
        "ETag": found.etag,
        # File names carry no content hash (no build step): revalidate, cheaply, by ETag.
        "Cache-Control": "no-cache",
        "X-Content-Type-Options": "nosniff",
    }
    if_none_match = _header("if-none-match")
    if if_none_match is not None and found.etag in if_none_match:
        return Response(status_code=304, body="", headers=headers)
    return Response(
        status_code=200, content_type=found.content_type, body=found.body, headers=headers
    )


def _header(name: str) -> str | None:
    headers = router.current_event.headers or {}
    return next((v for k, v in headers.items() if k.lower() == name), None)
