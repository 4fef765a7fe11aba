"""Small Dify DSL documents for the service API tests, written the way Dify exports them."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

CONFORMANCE = Path(__file__).resolve().parents[3] / "shared" / "conformance" / "dify"
PASSTHROUGH = CONFORMANCE / "dify_fixture__simple_passthrough_workflow.yml"

Selector = list[str]


def document(
    name: str,
    nodes: list[tuple[str, dict[str, Any]]],
    edges: list[tuple[str, str]],
    features: dict[str, Any] | None = None,
) -> str:
    text: str = yaml.safe_dump(
        {
            "app": {"name": name, "mode": "workflow", "description": f"{name} (test)"},
            "kind": "app",
            "version": "0.3.1",
            "workflow": {
                "environment_variables": [],
                "conversation_variables": [],
                "features": features or {},
                "graph": {
                    "nodes": [
                        {"id": node_id, "type": "custom", "data": data} for node_id, data in nodes
                    ],
                    "edges": [
                        {
                            "id": f"{source}-{target}",
                            "source": source,
                            "target": target,
                            "sourceHandle": "source",
                            "targetHandle": "target",
                            "type": "custom",
                        }
                        for source, target in edges
                    ],
                },
            },
        },
        allow_unicode=True,
    )
    return text


def start(*variables: str, optional: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "start",
        "title": "Start",
        "variables": [
            {"variable": v, "label": v, "type": "text-input", "required": True, "options": []}
            for v in variables
        ]
        + [
            {"variable": v, "label": v, "type": "paragraph", "required": False, "options": []}
            for v in optional
        ],
    }


def end(**outputs: Selector) -> dict[str, Any]:
    return {
        "type": "end",
        "title": "End",
        "outputs": [
            {"variable": name, "value_selector": selector, "value_type": "string"}
            for name, selector in outputs.items()
        ],
    }


def template(text: str, title: str = "Template", **variables: Selector) -> dict[str, Any]:
    return {
        "type": "template-transform",
        "title": title,
        "template": text,
        "variables": [{"variable": k, "value_selector": v} for k, v in variables.items()],
    }


def http_get(url: str) -> dict[str, Any]:
    return {
        "type": "http-request",
        "title": "Slow call",
        "method": "GET",
        "url": url,
        "authorization": {"type": "no-auth"},
        "headers": "",
        "params": "",
        "body": {"type": "none", "data": ""},
        "timeout": {"connect": 5, "read": 60, "write": 5},
    }


def llm(prompt: str) -> dict[str, Any]:
    return {
        "type": "llm",
        "title": "LLM",
        "model": {
            "provider": "openai",
            "name": "gpt-4o-mini",
            "mode": "chat",
            "completion_params": {},
        },
        "prompt_template": [{"role": "user", "text": prompt}],
        "context": {"enabled": False, "variable_selector": []},
        "vision": {"enabled": False},
    }


def passthrough() -> str:
    return PASSTHROUGH.read_text()


def chain(length: int) -> str:
    """start(query) -> `length` template nodes, each appending its number -> end(result)."""
    nodes: list[tuple[str, dict[str, Any]]] = [("start", start("query"))]
    previous: Selector = ["start", "query"]
    for number in range(1, length + 1):
        nodes.append(
            (f"t{number}", template(f"{{{{ x }}}}-{number}", f"Step {number}", x=previous))
        )
        previous = [f"t{number}", "output"]
    nodes.append(("end", end(result=previous)))
    ids = [node_id for node_id, _ in nodes]
    return document(f"chain of {length}", nodes, list(pairwise(ids)))


def slow() -> str:
    """start(url) -> GET {{url}} (the test server sleeps) -> end(body)."""
    return document(
        "slow",
        [
            ("start", start("url")),
            ("call", http_get("{{#start.url#}}")),
            ("end", end(body=["call", "body"])),
        ],
        [("start", "call"), ("call", "end")],
    )


def failing() -> str:
    """A template that divides by zero: the run fails in its second node."""
    return document(
        "failing",
        [
            ("start", start("query")),
            ("boom", template("{{ 1 / 0 }}", "Boom")),
            ("end", end(result=["boom", "output"])),
        ],
        [("start", "boom"), ("boom", "end")],
    )


def with_llm() -> str:
    return document(
        "llm",
        [
            ("start", start("query")),
            ("model", llm("{{#start.query#}}")),
            ("end", end(answer=["model", "text"])),
        ],
        [("start", "model"), ("model", "end")],
    )
