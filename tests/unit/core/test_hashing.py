"""Draft hashes: canonical content, whatever the spelling; secret values never hashed."""

from __future__ import annotations

import json

from functions.core.model import dify_format
from functions.core.model.hashing import content_hash

GRAPH = {"nodes": [{"id": "start", "data": {"type": "start", "variables": []}}], "edges": []}


def _draft_hash(document: dict[str, object]) -> str:
    return dify_format.read(document, strict=False).hash


def test_key_order_and_spacing_do_not_change_the_hash() -> None:
    shuffled = json.loads(json.dumps({"b": [1, {"y": 2, "x": 1}], "a": "é"}, indent=4))

    assert content_hash(shuffled) == content_hash({"a": "é", "b": [1, {"x": 1, "y": 2}]})
    assert content_hash({"a": 1}) != content_hash({"a": 1.5})


def test_the_hash_covers_graph_features_and_variables() -> None:
    base = {"graph": GRAPH, "features": {}, "environment_variables": []}
    variable = {"name": "N", "value_type": "string", "value": "1"}

    assert _draft_hash(base) != _draft_hash({**base, "features": {"opening_statement": "hi"}})
    assert _draft_hash(base) != _draft_hash({**base, "environment_variables": [variable]})
    assert _draft_hash(base) != _draft_hash({**base, "conversation_variables": [variable]})


def test_the_hash_is_the_sha256_of_the_documented_parts() -> None:
    document = {"graph": GRAPH, "features": {"a": 1}}

    expected = content_hash(
        {
            "graph": GRAPH,
            "features": {"a": 1},
            "environment_variables": [],
            "conversation_variables": [],
        }
    )

    assert _draft_hash(document) == expected


def test_a_secret_value_is_not_part_of_the_hash() -> None:
    def with_secret(value: str) -> dict[str, object]:
        secret = {"name": "TOKEN", "value_type": "secret", "value": value}
        return {"graph": GRAPH, "environment_variables": [secret]}

    # A hash anyone with read access sees must not let them test guesses of a secret.
    assert _draft_hash(with_secret("one")) == _draft_hash(with_secret("two"))
