"""Workflow files: which API takes them, and their problems found without a server.

A JSON object with a `nodes` list (and no Dify `graph`/`workflow`) is a v1 document
(`POST /v1/workflows`); anything else is a Dify DSL export or draft, YAML or JSON
(`POST /v1/workflows/import`). No route validates without saving, so `validate` runs
this checkout's own importers and checks (the ones the api function runs before it saves).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["v1", "dify"]


@dataclass(frozen=True)
class Document:
    kind: Kind
    text: str
    data: Any  # the parsed JSON, None for YAML

    @property
    def name(self) -> str:
        if isinstance(self.data, dict):
            app = self.data.get("app")
            if isinstance(app, dict) and isinstance(app.get("name"), str):
                return str(app["name"])
            if isinstance(self.data.get("name"), str):
                return str(self.data["name"])
        return ""


def read(path: Path) -> Document:
    text = path.read_text(encoding="utf-8-sig")
    try:
        data = json.loads(text)
    except ValueError:
        return Document("dify", text, None)
    if (
        isinstance(data, dict)
        and isinstance(data.get("nodes"), list)
        and "graph" not in data
        and "workflow" not in data
    ):
        return Document("v1", text, data)
    return Document("dify", text, data)


@dataclass(frozen=True)
class Checked:
    name: str
    nodes: int
    problems: list[dict[str, str]]


def check(document: Document) -> Checked:
    """Every problem saving `document` would be refused for, as the server words them."""
    # The engine's own model, imported only here: the other commands need none of it.
    from pydantic import ValidationError  # noqa: PLC0415

    from functions.core.errors import DomainError, InvalidWorkflow, Problem  # noqa: PLC0415
    from functions.core.model import dify_format, v1_format  # noqa: PLC0415
    from functions.core.model.workflow import Draft  # noqa: PLC0415
    from functions.core.services.workflows import draft_problems  # noqa: PLC0415

    def view(problems: list[Problem]) -> list[dict[str, str]]:
        return [{"where": p.where, "reason": p.reason} for p in problems]

    draft: Draft
    try:
        if document.kind == "v1":
            body = v1_format.V1WorkflowBody.model_validate(document.data)
            draft = v1_format.to_draft(body)
        else:
            draft = dify_format.import_document(document.text)
    except ValidationError as exc:
        found = [
            {"where": ".".join(["body", *(str(p) for p in e["loc"])]), "reason": e["msg"]}
            for e in exc.errors()
        ]
        return Checked(document.name, 0, found)
    except InvalidWorkflow as exc:
        return Checked(document.name, 0, view(exc.problems))
    except DomainError as exc:
        return Checked(document.name, 0, [{"where": "document", "reason": str(exc)}])
    return Checked(draft.name or document.name, len(draft.graph.nodes), view(draft_problems(draft)))
