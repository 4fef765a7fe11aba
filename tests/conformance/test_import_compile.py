"""Every Dify file of the corpus imports and compiles to a definition the States Language
parser accepts, or is refused naming each node it cannot take and why."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from moto.stepfunctions.parser.asl.parse.asl_parser import AmazonStateLanguageParser

from functions.core.errors import InvalidWorkflow
from functions.core.model.dify_format import import_document
from functions.core.model.workflow import BODY_START_TYPES, NodeType
from functions.core.services.definitions import build_definition
from functions.nodes.catalog import NODES
from tests.conformance.corpus import dify_files, manifest

pytestmark = pytest.mark.usefixtures("deploy_env")

SUPPORTED = {t.value for t in NODES} | {t.value for t in BODY_START_TYPES}
_NODE = re.compile(r"^node '[^']+' \(.+\)$")


def unsupported_types(path: Path) -> set[str]:
    """The node types the manifest lists for the file that have no node function here."""
    return set(manifest()[path.name]["node_types"].split(",")) - SUPPORTED


@pytest.mark.parametrize("path", dify_files(), ids=lambda p: p.name)
def test_file_imports_and_compiles_or_is_refused_clearly(path: Path) -> None:
    missing = unsupported_types(path)
    try:
        draft = import_document(path.read_text(encoding="utf-8"))
    except InvalidWorkflow as refusal:
        assert missing, f"{path.name} was refused: {refusal}"
        for problem in refusal.problems:
            assert _NODE.match(problem.where), problem
        refused = {
            match[1] for p in refusal.problems if (match := re.search(r"type '([^']+)'", p.reason))
        }
        assert refused == missing, str(refusal)
        for kind in missing:
            known = kind in {t.value for t in NodeType}
            reason = f"node type '{kind}' is not supported" + (" yet" if known else "")
            assert any(p.reason == reason for p in refusal.problems), str(refusal)
        return
    assert not missing, f"{path.name} imported although it uses {missing}"
    definition = build_definition(draft.graph, draft.entry)
    AmazonStateLanguageParser.parse(json.dumps(definition))
    assert len(json.dumps(definition).encode()) < 1024 * 1024


def test_the_corpus_is_all_there() -> None:
    assert {p.name for p in dify_files()} == set(manifest())
