"""The API's own description: the OpenAPI document of every face, generated from the
routes, served at /openapi.json, and Powertools' Swagger UI over it at /swagger (its
assets inlined, nothing fetched from a CDN). Both are public: API Gateway and the local
gateway serve them without a key (infra/api.py UNAUTHENTICATED_ROUTES), as they describe
the API and hold no data. docs/openapi.json is the committed copy a test keeps in step.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from aws_lambda_powertools.event_handler.openapi.models import APIKey, APIKeyIn, HTTPBearer

SWAGGER_PATH = "/swagger"
DOCUMENT_PATH = "/openapi.json"
PUBLIC_PATHS = (SWAGGER_PATH, DOCUMENT_PATH)
_DOCUMENT: dict[str, Any] = {
    "title": "Stepcanvas",
    "version": "1.0.0",
    "description": "The v1 management API, Dify's workflow-app service API, the canvas "
    "editor API and the Cortex workflows API of one Stepcanvas deployment.",
    "security_schemes": {
        "apiKey": APIKey(name="X-API-Key", in_=APIKeyIn.header),
        "bearer": HTTPBearer(description="An account key, or a Dify-style app key"),
    },
    "security": [{"apiKey": []}, {"bearer": []}],
}


def register(app: APIGatewayRestResolver) -> None:
    app.enable_swagger(path=SWAGGER_PATH, **_DOCUMENT)

    @app.get(DOCUMENT_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=document(app)
        )


def document(app: APIGatewayRestResolver) -> str:
    """The document as served (and as committed in docs/openapi.json)."""
    text: str = app.get_openapi_json_schema(**_DOCUMENT)
    return text
