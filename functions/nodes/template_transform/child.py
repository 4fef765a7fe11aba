"""What a template-transform child process runs (see functions/nodes/forkserver.py).

Imported once by the fork server, before its children exist: so everything a render may
import lazily is imported here, while the import path still reaches it.
"""

from __future__ import annotations

from typing import Any

import jinja2.debug  # noqa: F401 - imported by Jinja only when a template raises

from functions.core.expressions.jinja import TemplateError, render_jinja


def render(payload: dict[str, Any]) -> str:
    """The rendered template; a TemplateError names what is wrong with it."""
    try:
        return render_jinja(payload["template"], payload["variables"])
    except TemplateError as exc:
        if isinstance(exc.__cause__, MemoryError):
            raise MemoryError from exc  # the limited child reports the memory limit
        raise
