"""Jinja2 templates of Dify documents (template-transform, jinja2 prompts), sandboxed.

Dify renders these in its code sandbox; here they run in Jinja's SandboxedEnvironment,
which refuses attribute access to internals (`__class__`, `mro` ...) and caps `range`, so
a workflow author cannot reach the function's process. Autoescape is off and undefined
names render as nothing, as in Dify.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import TemplateError as JinjaError
from jinja2 import TemplateSyntaxError
from jinja2.sandbox import SandboxedEnvironment

# Dify's TEMPLATE_TRANSFORM_MAX_LENGTH default: bounds what one template can produce.
MAX_OUTPUT_CHARS = 400_000

_ENVIRONMENT = SandboxedEnvironment(autoescape=False)


class TemplateError(ValueError):
    """A template that does not parse, fails while rendering, or renders too much."""


def render_jinja(template: str, variables: Mapping[str, Any]) -> str:
    try:
        compiled = _ENVIRONMENT.from_string(template)
    except TemplateSyntaxError as exc:
        raise TemplateError(f"template syntax error on line {exc.lineno}: {exc.message}") from exc
    try:
        text = compiled.render(**variables)
    except JinjaError as exc:  # includes SecurityError from the sandbox
        raise TemplateError(f"template failed: {exc.message or type(exc).__name__}") from exc
    except Exception as exc:  # a template's own errors: 1/0, None + 1, a bad filter argument
        raise TemplateError(f"template failed: {type(exc).__name__}: {exc}") from exc
    if len(text) > MAX_OUTPUT_CHARS:
        raise TemplateError(f"Output length exceeds {MAX_OUTPUT_CHARS} characters")
    return text
