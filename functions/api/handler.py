"""The api function: every management, canvas and service route behind the authorizer."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

from functions.api import docs, errors
from functions.api.resolver import PerThreadResolver
from functions.api.routes import canvas, cortex, keys, service, triggers, workflows_v1
from functions.api.viewer import pages as viewer_pages
from functions.api.viewer import runs as viewer_runs
from functions.core.observability import traced

logger = Logger(service="stepcanvas-api")

# Per thread: the local gateway serves it from many threads (functions/api/resolver.py).
app = PerThreadResolver(enable_validation=True)
errors.register(app)
# Order matters: the service API's static segments (/v1/workflows/run, /logs, /tasks)
# and its shared POST /v1/workflows/{id}/run come before the v1 routes' {id}.
app.include_router(service.router)
app.include_router(keys.router)
app.include_router(triggers.router)
app.include_router(workflows_v1.router)
app.include_router(canvas.router)
app.include_router(cortex.router)
# The run viewer: a run by its id (account key), and the public pages that read it.
app.include_router(viewer_runs.router)
app.include_router(viewer_pages.router)
# After the routes: the document describes them.
docs.register(app)


@traced
@logger.inject_lambda_context(
    correlation_id_path=correlation_paths.API_GATEWAY_REST, clear_state=True
)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return app.resolve(event, context)
