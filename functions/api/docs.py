"""The API's own description: the OpenAPI document of every face, generated from the
routes, served at /openapi.json, and Powertools' Swagger UI over it at /swagger (its
assets inlined, nothing fetched from a CDN). Both are public: API Gateway and the local
gateway serve them without a key (infra/api.py UNAUTHENTICATED_ROUTES), as they describe
the API and hold no data. docs/openapi.json is the committed copy a test keeps in step.

Powertools writes the paths, path and query parameters and success schemas from the route
signatures; each route's contract (functions/api/contract.py) adds what Powertools cannot
see: the request body's schema (from the model the route validates it with), the statuses
it really answers, the error body, which key opens it, and its face as a tag.
"""

from __future__ import annotations

import json
from http import HTTPStatus
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response, content_types
from pydantic import BaseModel, Field

from functions.api import contract
from functions.api.contract import Contract, Face

SWAGGER_PATH = "/swagger"
DOCUMENT_PATH = "/openapi.json"
PUBLIC_PATHS = (SWAGGER_PATH, DOCUMENT_PATH)
_DOCUMENT: dict[str, Any] = {
    "title": "Stepcanvas",
    "version": "1.0.0",
    "description": "The v1 management API, Dify's workflow-app service API, the canvas "
    "editor API and the Cortex workflows API of one Stepcanvas deployment.",
    "security": [{"apiKey": []}, {"bearer": []}],
}
_REF = "#/components/schemas/{model}"
# One server-sent event, as a client's SSE parser reads it (`data` carries a JSON
# object: Dify's `{event, task_id, …}` chunks or Cortex's growing run object).
_SSE_EVENT: dict[str, Any] = {
    "type": "object",
    "properties": {
        "event": {"type": "string"},
        "data": {"type": "string"},
        "id": {"type": "string"},
        "retry": {"type": "integer"},
    },
}
_SECURITY: dict[Face, list[dict[str, list[str]]]] = {
    Face.ACCOUNT: [{"apiKey": []}, {"bearer": []}],
    Face.APP: [{"bearer": []}],
    Face.EITHER: [{"apiKey": []}, {"bearer": []}],
    Face.PUBLIC: [],
}


class Problem(BaseModel):
    where: str
    reason: str


class ErrorBody(BaseModel):
    """Every error answer, of every face (functions/api/errors.py)."""

    code: str
    message: str
    status: int = Field(ge=400, le=599)
    # A workflow refused at save: every problem found, each naming its node, edge or field.
    problems: list[Problem] | None = None


def register(app: APIGatewayRestResolver) -> None:
    """/openapi.json and /swagger. Powertools' own `enable_swagger` would import its
    OpenAPI models (a quarter of the function's cold start) at registration, and its page
    would show the document before the contracts are written in: this serves its page,
    over the completed document, and loads the models when a document is asked for."""

    @app.get(DOCUMENT_PATH, include_in_schema=False)
    def openapi_document() -> Response[str]:
        return Response(
            status_code=200, content_type=content_types.APPLICATION_JSON, body=document(app)
        )

    @app.get(SWAGGER_PATH, include_in_schema=False)
    def swagger_ui() -> Response[str]:
        return Response(status_code=200, content_type="text/html", body=swagger_page(app))


def document(app: APIGatewayRestResolver) -> str:
    """The document as served (and as committed in docs/openapi.json)."""
    from aws_lambda_powertools.event_handler.openapi.models import (  # noqa: PLC0415 - see register
        APIKey,
        APIKeyIn,
        HTTPBearer,
        SecurityScheme,
    )

    schemes: dict[str, SecurityScheme] = {
        "apiKey": APIKey(name="X-API-Key", in_=APIKeyIn.header, description="An account key"),
        "bearer": HTTPBearer(description="An account key, or a Dify-style app key"),
    }
    generated: dict[str, Any] = json.loads(
        app.get_openapi_json_schema(**_DOCUMENT, security_schemes=schemes)
    )
    return json.dumps(completed(app, generated))


def swagger_page(app: APIGatewayRestResolver) -> str:
    """Powertools' Swagger UI page, its script and styles inlined (nothing is fetched)."""
    from aws_lambda_powertools.event_handler.openapi import swagger_ui  # noqa: PLC0415

    assets = Path(swagger_ui.__file__).parent
    return swagger_ui.generate_swagger_html(
        spec=document(app).replace("</", "<\\/"),  # no `</script>` inside the page's script
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )


def completed(app: APIGatewayRestResolver, generated: dict[str, Any]) -> dict[str, Any]:
    """Powertools' document with every route's contract written in."""
    schemas: dict[str, Any] = generated.setdefault("components", {}).setdefault("schemas", {})
    # Validation errors answer 400 in the error shape (errors.py), never Powertools' 422.
    for unused in ("HTTPValidationError", "ValidationError", "ResponseValidationError"):
        schemas.pop(unused, None)
    _add_schema(schemas, ErrorBody)
    # Powertools' own list of routes: the one the document is generated from.
    for route in app._static_routes + app._dynamic_routes:
        if not route.include_in_schema:
            continue
        # A route without one yet is described as an account route of the v1 face.
        found = contract.of(route.func) or contract.ASSUMED
        operation = generated["paths"][route.openapi_path][route.method.lower()]
        _write(operation, found, schemas)
    return generated


def _write(operation: dict[str, Any], found: Contract, schemas: dict[str, Any]) -> None:
    parameters = operation.get("parameters", [])
    generated_success = operation["responses"].pop("200")
    success_content = generated_success.get("content", {})
    if found.streams:
        success_content["text/event-stream"] = {"schema": _SSE_EVENT}
    responses: dict[str, Any] = {
        str(found.success): {
            "description": HTTPStatus(found.success).phrase,
            "content": success_content,
        }
    }
    statuses = found.error_statuses(
        has_path_params=any(p["in"] == "path" for p in parameters),
        has_query_params=any(p["in"] == "query" for p in parameters),
    )
    error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}}
    for status in statuses:
        responses[str(status)] = {
            "description": HTTPStatus(status).phrase,
            "content": success_content if status < 400 else error,
        }
    operation["responses"] = responses
    operation["security"] = _SECURITY[found.face]
    operation["tags"] = [found.tag]
    if found.starts_run:
        parameters.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "description": "A retry with the same key and body answers the first run",
                "schema": {"type": "string", "minLength": 1, "maxLength": 255},
            }
        )
        operation["parameters"] = parameters
    if found.body:
        refs = [_add_schema(schemas, model) for model in found.body]
        operation["requestBody"] = {
            # No body reads as `{}`: each field missing (a required one answers 400).
            "required": False,
            "content": {
                found.media.value: {"schema": refs[0] if len(refs) == 1 else {"anyOf": refs}}
            },
        }


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> dict[str, str]:
    """The model's JSON Schema (and its nested models') in components; a reference to it."""
    schema = model.model_json_schema(ref_template=_REF, mode="validation")
    for name, nested in {**schema.pop("$defs", {}), model.__name__: schema}.items():
        if schemas.setdefault(name, nested) != nested:
            raise ValueError(f"two request models are named {name}: rename one")
    return {"$ref": _REF.format(model=model.__name__)}
