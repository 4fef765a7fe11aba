"""Dify's prompt templates rendered into a system prompt and a conversation."""

from __future__ import annotations

from typing import Any

from functions.core.errors import NodeError
from functions.core.expressions.jinja import TemplateError, render_jinja
from functions.core.expressions.templates import to_text
from functions.nodes.dify_entities import resolve_variables
from functions.nodes.entities import NodeContext, as_selector
from functions.nodes.llm.entities import LlmConfig, PromptMessage
from functions.nodes.llm.providers import Message

CONTEXT_PLACEHOLDER = "{{#context#}}"


def render_messages(config: LlmConfig, ctx: NodeContext) -> tuple[str | None, list[Message]]:
    """The system prompt (system messages joined) and the user/assistant turns."""
    context = _context(config, ctx)
    jinja_values: dict[str, Any] | None = None
    system: list[str] = []
    turns: list[Message] = []
    for message in config.messages():
        if message.edition_type == "jinja2":
            if jinja_values is None:
                jinja_values = resolve_variables(config.prompt_config.jinja2_variables, ctx)
            text = _jinja(message, jinja_values)
        else:
            # Variables first, then the context: a context's own text is never a template.
            text = ctx.render(message.text, dify=True).replace(CONTEXT_PLACEHOLDER, context)
        if message.role == "system":
            system.append(text)
        else:
            turns.append(Message(message.role, text))
    return ("\n".join(system) or None), turns


def _jinja(message: PromptMessage, values: dict[str, Any]) -> str:
    try:
        return render_jinja(message.jinja2_text or "", values)
    except TemplateError as exc:
        raise NodeError(f"{message.role} prompt: {exc}", "TemplateError") from exc


def _context(config: LlmConfig, ctx: NodeContext) -> str:
    """The context variable as text: retrieval results (Dify's knowledge node) by their
    `content`, anything else as rendered text; nothing when context is off."""
    selector = as_selector(config.context.variable_selector)
    if not config.context.enabled or selector is None:
        return ""
    value = ctx.pool.lookup(selector)
    if isinstance(value, list):
        return "\n".join(
            to_text(item.get("content")) if isinstance(item, dict) else to_text(item)
            for item in value
        )
    return to_text(value)
