"""Dify's question classifier: the model answers `{"category_id", "category_name",
"keywords"}`; a reply without a known category id (or no JSON at all) falls back to the
first class, as in Dify. Outputs `class_name`, `class_id` and `usage`; the chosen class id
is the node's handle.

With the `local` provider the reply is computed: the first class whose name occurs in the
query (ignoring case), else the first class. Dify's `memory` and `vision` are not used.
"""

from __future__ import annotations

import json

from functions.core.expressions.templates import to_text
from functions.nodes.entities import NodeContext, NodeResult
from functions.nodes.parameter_extractor.llm_json import ask, find_json_object
from functions.nodes.question_classifier.entities import ClassSpec, QuestionClassifierConfig

SYSTEM = (
    "You are a text classifier. Put the input text in the one category that fits it best. "
    'Answer with exactly one JSON object and nothing else: {"keywords": [words of the text '
    'that decided it], "category_id": "<id of the category>", "category_name": "<its name>"}.'
)


def run(config: QuestionClassifierConfig, ctx: NodeContext) -> NodeResult:
    query = to_text(ctx.pool.lookup(tuple(config.query_variable_selector)))
    instruction = ctx.render(config.instruction, dify=True)
    categories = [{"category_id": c.id, "category_name": c.name} for c in config.classes]
    prompt = (
        f"### Categories\n{json.dumps(categories, ensure_ascii=False)}\n\n"
        f"### Instructions\n{instruction or '(none)'}\n\n"
        f"### Input text\n<text>\n{query}\n</text>"
    )
    guess = local_choice(config.classes, query)
    local = json.dumps(
        {"keywords": [], "category_id": guess.id, "category_name": guess.name},
        ensure_ascii=False,
    )
    answer = ask(config.model, ctx, system=SYSTEM, text=prompt, local_reply=local)
    chosen = _chosen(config.classes, answer.text)
    return NodeResult(
        outputs={
            "class_name": chosen.name,
            "class_id": chosen.id,
            "usage": answer.usage.as_dict(),
        },
        inputs={
            "query": query,
            "instruction": instruction,
            "model": answer.model,
            "provider": answer.provider,
            "reply": answer.text,
        },
        handle=chosen.id,
        tokens=answer.usage.total_tokens,
    )


def local_choice(classes: list[ClassSpec], query: str) -> ClassSpec:
    lowered = query.lower()
    return next((c for c in classes if c.name and c.name.lower() in lowered), classes[0])


def _chosen(classes: list[ClassSpec], reply: str) -> ClassSpec:
    parsed = find_json_object(reply) or {}
    wanted = parsed.get("category_id")
    return next((c for c in classes if wanted is not None and c.id == str(wanted)), classes[0])
