"""A workflow seen as a Dify "app": its published versions, end users, form and features.

Dify calls the published workflow a version with an id of its own, and the app the thing
that has versions. Here the workflow is the app and its versions are the published ones
(numbered 1, 2, …, see services/workflows.py); a version's id on the service API is
`<workflow id>-v<number>`, which runs report as `workflow_id` (and `sys.workflow_id`).
The app key runs the latest version; `POST /v1/workflows/{version id}/run` runs that one.
"""

from __future__ import annotations

import uuid
from typing import Any

from functions.core.errors import NotFound, Refused
from functions.core.model.version import Version
from functions.core.model.workflow import Graph, NodeType
from functions.core.services import workflows
from functions.core.settings import get_settings

_VERSION_MARK = "-v"
_MIB = 1024 * 1024
# What /v1/parameters shows for an app whose document declares no upload feature.
_DEFAULT_FILE_UPLOAD: dict[str, Any] = {
    "image": {
        "enabled": False,
        "number_limits": 3,
        "detail": "high",
        "transfer_methods": ["remote_url", "local_file"],
    }
}
# Dify features /v1/parameters passes through from the imported document.
_FEATURES = (
    "opening_statement",
    "suggested_questions",
    "suggested_questions_after_answer",
    "speech_to_text",
    "text_to_speech",
    "retriever_resource",
    "sensitive_word_avoidance",
)


def load(tenant_id: str, workflow_id: str) -> dict[str, Any]:
    """The app key's workflow; gone (deleted since the key was made) is `app_unavailable`."""
    try:
        return workflows.get(tenant_id, workflow_id)
    except NotFound as exc:
        raise Refused(
            "app_unavailable", f"the app's workflow '{workflow_id}' no longer exists"
        ) from exc


def version_id(workflow_id: str, number: int) -> str:
    return f"{workflow_id}{_VERSION_MARK}{number}"


def latest_version_id(record: dict[str, Any]) -> str | None:
    number = record.get("published")
    return version_id(record["id"], number) if number else None


def requested_version(record: dict[str, Any], requested: str) -> int | None:
    """The version number `requested` names (None: the workflow itself, so its latest);
    anything else, another workflow's version included, is not found."""
    if requested == record["id"]:
        return None
    workflow_id, mark, number = requested.rpartition(_VERSION_MARK)
    if mark and workflow_id == record["id"] and number.isdigit() and number[0] != "0":
        return int(number)
    raise NotFound("workflow", requested)


def published_snapshot(record: dict[str, Any], number: int | None = None) -> Version:
    """What the app runs: version `number`, or the latest one. An app whose workflow was
    never published (a canvas still being drawn) is unavailable."""
    if number is None and not record.get("published"):
        raise Refused("app_unavailable", f"workflow '{record['id']}' has no published version")
    return workflows.version_of(record, number)


def end_user_id(tenant_id: str, workflow_id: str, user: str) -> str:
    """Dify's end-user id: stable per app and `user`, so uploads and runs agree on it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepcanvas:{tenant_id}:{workflow_id}:{user}"))


def parameters(record: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/parameters: the start form, the upload feature and the upload limits of
    what the app key runs (its latest version)."""
    published = published_snapshot(record)
    features = published.document.get("features") or {}
    megabytes = get_settings().upload_max_bytes // _MIB
    return {
        **{name: features[name] for name in _FEATURES if name in features},
        "user_input_form": user_input_form(published.graph_model()),
        "file_upload": features.get("file_upload") or _DEFAULT_FILE_UPLOAD,
        "system_parameters": {
            # One limit for every kind of file: /v1/files/upload enforces only that one.
            "file_size_limit": megabytes,
            "image_file_size_limit": megabytes,
            "audio_file_size_limit": megabytes,
            "video_file_size_limit": megabytes,
        },
    }


def user_input_form(graph: Graph) -> list[dict[str, Any]]:
    """Each variable of the start node as `{<control type>: {label, variable, …}}`."""
    form: list[dict[str, Any]] = []
    for node in graph.nodes:
        if node.type is not NodeType.START:
            continue
        for variable in node.config.get("variables") or []:
            control = {key: value for key, value in variable.items() if key != "type"}
            control.setdefault("label", variable.get("variable", ""))
            control.setdefault("required", False)
            if control.get("default") is None:
                control["default"] = ""
            form.append({str(variable.get("type") or "text-input"): control})
    return form


def info(record: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": record["name"],
        "description": record.get("description") or "",
        "tags": [],
        "mode": "workflow",
        "author_name": "",
    }
