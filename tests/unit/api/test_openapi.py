"""The OpenAPI document: generated from the routes, committed, and kept in step."""

from __future__ import annotations

import json

from tools import openapi


def test_the_committed_document_is_what_the_routes_generate() -> None:
    assert openapi.COMMITTED.read_text(encoding="utf-8") == openapi.generated(), (
        "docs/openapi.json drifted from the routes: run `.venv/bin/python -m tools.openapi`"
    )


def test_the_document_describes_every_face_and_how_to_authenticate() -> None:
    document = json.loads(openapi.generated())

    paths = document["paths"]
    assert {"/v1/workflows", "/v1/workflows/run", "/workflow/canvas/draft", "/apps"} <= set(paths)
    assert "/apps/{app_id}/workflows/{workflow_id}/runs" in paths
    assert set(document["components"]["securitySchemes"]) == {"apiKey", "bearer"}
    assert not {"/swagger", "/openapi.json"} & set(paths)
