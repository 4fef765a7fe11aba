"""Dify documents and their import into the internal model.

Accepted, as text:

- a Dify DSL export (YAML, versions 0.1.x to 0.6.x): `kind: app`, `app` {name,
  description, mode: workflow}, `workflow` {graph {nodes, edges}, environment_variables,
  features, conversation_variables};
- a Dify draft as JSON: `{"graph": {...}, "environment_variables": [...], ...}`;
- a bare graph (JSON or YAML): `{"nodes": [...], "edges": [...]}`.

The graph is converted as dify_graph.py describes; the entry is the start node, which may
be a `trigger-schedule` or `trigger-webhook` node (Dify 1.10+), whose settings become the
draft's trigger (dify_triggers.py; an invalid one is refused, naming its node). Only
workflow-mode apps import: a chat app's answer stream and conversation memory have no
equivalent here. A refusal lists every problem at once (`InvalidWorkflow`), each naming
its node (id and title) or field: unreadable text (with its line), a chat-mode app, an
unsupported DSL version, a node type with no node function here, a malformed node, edge,
retry or error policy, a bad environment variable. Node configs are checked later, when
the draft is saved (`build_definition`), like every other face's.

The stored document (`Draft.document`) is the original, normalised to one shape —
{format, version, app, graph, features, environment_variables, conversation_variables,
secrets} — with secret environment values kept apart under `secrets` and replaced by
`[__HIDDEN__]` in `environment_variables`. A face shows it only through
`dify_environment.public_document`, which drops `secrets`; see dify_environment.py.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from typing import Any

import yaml

from functions.core import nesting
from functions.core.catalog import node_types
from functions.core.errors import InvalidWorkflow, Problem
from functions.core.model import dify_environment, dify_graph
from functions.core.model.workflow import BODY_START_TYPES, Draft, NodeType

# Dify refuses DSL files over 10 MB; the graph limits (MAX_NODES) bite long before.
MAX_DOCUMENT_CHARS = 10 * 1024 * 1024
SUPPORTED_VERSIONS = "0.1.x to 0.6.x"
CHAT_MODES = frozenset({"chat", "advanced-chat", "agent-chat", "completion"})
DEFAULT_NAME = "Imported Dify workflow"
FORMAT = "dify"

_VERSION = re.compile(r"^0\.[1-6]\.\d+$")


def import_document(text: str, supported: Collection[NodeType] | None = None) -> Draft:
    """The draft a Dify document describes; InvalidWorkflow names every problem.

    `supported` is the node types that can run here (default: those with a node
    function in the catalog, and the body start markers).
    """
    return read(_load(text), supported)


def read(
    data: dict[str, Any],
    supported: Collection[NodeType] | None = None,
    *,
    strict: bool = True,
    previous: dict[str, Any] | None = None,
) -> Draft:
    """The draft a parsed Dify document describes. `strict`: refuse it with every problem;
    otherwise (an editor's draft, which may be incomplete) the problems ride on the draft,
    and only what is no Dify document at all is refused. A secret sent back as `HIDDEN`
    (as every face shows it) keeps its value from `previous`, the stored document."""
    problems: list[Problem] = []
    envelope = _envelope(data, problems)
    if envelope is None:
        raise InvalidWorkflow(problems)
    app, workflow, version = envelope
    graph_data = workflow.get("graph")
    if not isinstance(graph_data, dict):
        raise InvalidWorkflow([*problems, Problem("workflow.graph", "must be an object")])
    converted = dify_graph.convert(graph_data, _supported() if supported is None else supported)
    declared, secrets, env_problems = dify_environment.split_secrets(
        dify_environment.restore_hidden(workflow.get("environment_variables"), previous)
    )
    problems += converted.problems + env_problems
    if problems and strict:
        raise InvalidWorkflow(problems)
    name = app.get("name")
    description = app.get("description")
    return Draft(
        name=name.strip()[:200] if isinstance(name, str) and name.strip() else DEFAULT_NAME,
        description=description if isinstance(description, str) else "",
        graph=converted.graph,
        entry=converted.entry,
        trigger=converted.trigger,
        source=FORMAT,
        problems=problems,
        document={
            "format": FORMAT,
            "version": version,
            "app": app,
            "graph": graph_data,
            "features": workflow.get("features") or {},
            dify_environment.DECLARED_KEY: declared,
            "conversation_variables": workflow.get("conversation_variables") or [],
            dify_environment.SECRETS_KEY: secrets,
        },
    )


def with_graph(document: dict[str, Any], graph: dict[str, Any]) -> Draft:
    """The stored Dify `document` with its graph replaced (its features, variables and
    secret values kept); refused with every problem, like an import."""
    return read({**document, "graph": graph}, previous=document)


def _supported() -> frozenset[NodeType]:
    return node_types().supported() | BODY_START_TYPES


def _load(text: str) -> dict[str, Any]:
    """The document as JSON-compatible data; InvalidWorkflow when it cannot be read."""
    if not isinstance(text, str):
        raise InvalidWorkflow([Problem("document", "must be text (YAML or JSON)")])
    if not text.strip():
        raise InvalidWorkflow([Problem("document", "is empty")])
    if len(text) > MAX_DOCUMENT_CHARS:
        raise InvalidWorkflow(
            [Problem("document", f"is larger than {MAX_DOCUMENT_CHARS // (1024 * 1024)} MB")]
        )
    try:
        if text.lstrip().startswith("{"):
            nesting.check_text(text)
            data = _parse_json(text)
        else:
            data = _parse_yaml(text)
        # What parsed (YAML nests without brackets) is still walked by converters later.
        nesting.check(data)
        data = _jsonable(data)
    except nesting.TooDeep as exc:
        raise InvalidWorkflow([Problem("document", f"is {exc}")]) from None
    except RecursionError:
        # PyYAML's composer recurses per level: a document deep enough stops it first.
        raise InvalidWorkflow([Problem("document", f"is {nesting.TooDeep()}")]) from None
    if not isinstance(data, dict):
        raise InvalidWorkflow([Problem("document", "must be a mapping (a Dify DSL or graph)")])
    return data


def _parse_json(text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidWorkflow(
            [Problem(f"line {exc.lineno}", f"invalid JSON: {exc.msg} (column {exc.colno})")]
        ) from None


def _parse_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}" if mark is not None else "document"
        reason = exc.problem or exc.context or "unreadable"
        raise InvalidWorkflow([Problem(where, f"invalid YAML: {reason}")]) from None
    except (yaml.YAMLError, ValueError, TypeError) as exc:
        # Constructor errors without a position (a !!binary that is not base64, ...).
        raise InvalidWorkflow([Problem("document", f"invalid YAML: {exc}")]) from None


class _NoAliasLoader(yaml.SafeLoader):  # type: ignore[misc]
    """SafeLoader without anchors and aliases: Dify never writes them, and a few nested
    aliases expand into billions of nodes (the "billion laughs" document)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise yaml.composer.ComposerError(
                None, None, "aliases (*name) are not allowed in a Dify document", event.start_mark
            )
        return super().compose_node(parent, index)


def _jsonable(value: Any) -> Any:
    """YAML's extra types (dates, sets, binary, non-text keys) as JSON values, so the
    config can be embedded in a state machine and stored."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value.isoformat() if hasattr(value, "isoformat") else str(value)


def _envelope(
    data: dict[str, Any], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Any], str | None] | None:
    """(app, workflow part, DSL version) of a DSL, a draft or a bare graph."""
    if isinstance(data.get("graph"), dict):
        return {}, data, None  # a draft: {graph, environment_variables, features ...}
    if "nodes" in data and "edges" in data:
        return {}, {"graph": data}, None  # a bare graph
    if not any(key in data for key in ("app", "workflow", "kind", "version")):
        problems.append(
            Problem(
                "document",
                "is not a Dify document: expected a DSL (kind, app, workflow) "
                "or a graph (nodes, edges)",
            )
        )
        return None
    return _dsl(data, problems)


def _dsl(
    data: dict[str, Any], problems: list[Problem]
) -> tuple[dict[str, Any], dict[str, Any], str | None] | None:
    version = _version(data.get("version", "0.1.0"), problems)
    kind = data.get("kind", "app")
    if kind != "app":
        problems.append(Problem("kind", f"is {kind!r}; only app documents can be imported"))
    app = data.get("app")
    workflow = data.get("workflow")
    if not isinstance(app, dict):
        problems.append(Problem("app", "must be an object with name and mode"))
        return None
    if not _workflow_mode(app, problems):
        return None
    if not isinstance(workflow, dict):
        problems.append(Problem("workflow", "must be an object with a graph"))
        return None
    # A bad version or kind is reported with whatever else the graph has wrong.
    return app, workflow, version


def _workflow_mode(app: dict[str, Any], problems: list[Problem]) -> bool:
    mode = app.get("mode", "workflow")
    if isinstance(mode, str) and mode in CHAT_MODES:
        problems.append(
            Problem(
                "app.mode",
                f"is '{mode}': chat-mode apps are not supported; export a workflow-mode app",
            )
        )
    elif mode != "workflow":
        problems.append(Problem("app.mode", f"is {mode!r}; expected 'workflow'"))
    return bool(mode == "workflow")


def _version(version: Any, problems: list[Problem]) -> str | None:
    if not isinstance(version, str) or not _VERSION.match(version):
        problems.append(
            Problem(
                "version",
                f"Dify DSL version {version!r} is not supported; "
                f"Stepcanvas imports versions {SUPPORTED_VERSIONS}",
            )
        )
        return None
    return version
