"""A workflow seen as a Dify "app": its published versions, end users, form and features.

Dify calls the published workflow a version with an id of its own, and the app the thing
that has versions. Here the workflow is the app, and every save publishes a Step
Functions version (`versionArn`, numbered 1, 2, …); its id on the service API is
`<workflow id>-v<number>`, which runs report as `workflow_id` (and `sys.workflow_id`).
"""

from __future__ import annotations

import uuid
from typing import Any

from functions.core.errors import NotFound, Refused
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


def version_number(record: dict[str, Any]) -> int:
    return int(str(record["versionArn"]).rsplit(":", 1)[1])


def version_id(record: dict[str, Any]) -> str:
    return f"{record['id']}{_VERSION_MARK}{version_number(record)}"


def check_runnable_version(record: dict[str, Any], requested: str) -> None:
    """`requested` must name the published version (or the workflow itself).

    Step Functions can start an execution of an older version by its ARN, but moto
    cannot, and a run must behave the same in both: an older version is refused by name.
    """
    if requested in (record["id"], version_id(record)):
        return
    workflow_id, mark, number = requested.rpartition(_VERSION_MARK)
    superseded = mark and number.isdigit() and 0 < int(number) < version_number(record)
    if superseded and workflow_id == record["id"]:
        raise Refused(
            "invalid_param",
            f"workflow version '{requested}' is no longer published; "
            f"only the published version '{version_id(record)}' can run",
        )
    raise NotFound("workflow", requested)


def end_user_id(tenant_id: str, workflow_id: str, user: str) -> str:
    """Dify's end-user id: stable per app and `user`, so uploads and runs agree on it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"stepcanvas:{tenant_id}:{workflow_id}:{user}"))


def parameters(record: dict[str, Any]) -> dict[str, Any]:
    """GET /v1/parameters: the start form, the upload feature and the upload limits."""
    features = record.get("document", {}).get("features") or {}
    megabytes = get_settings().upload_max_bytes // _MIB
    return {
        **{name: features[name] for name in _FEATURES if name in features},
        "user_input_form": user_input_form(workflows.graph_of(record)),
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
