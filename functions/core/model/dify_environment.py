"""A Dify document's environment variables (`{{#env.NAME#}}`), and how secrets are kept.

Dify declares them as `[{name, value_type: string|number|secret, value, description}]`.
On import, a secret's value is taken out of the document: the stored document carries
`HIDDEN` in its place and the values live apart, under `document["secrets"]` (name ->
value). So:

- every face that shows a stored document back uses `public_document`, which drops the
  secrets; what it shows has `HIDDEN` (Dify's own placeholder) for each secret value;
- the run's `env` values come from `environment_values`, which puts the secrets back.
"""

from __future__ import annotations

import re
from typing import Any

from functions.core.errors import Problem

SECRET = "secret"  # noqa: S105 - the name of Dify's value type, not a secret
HIDDEN = "[__HIDDEN__]"
VALUE_TYPES = frozenset({"string", "number", SECRET})
# Where a stored Dify document keeps the declarations and the secret values.
DECLARED_KEY = "environment_variables"
SECRETS_KEY = "secrets"

# Dify's rule for variable names, so `{{#env.NAME#}}` can name them.
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,254}$")


def split_secrets(
    declared: Any,
) -> tuple[list[dict[str, Any]], dict[str, Any], list[Problem]]:
    """The declarations with secret values hidden, the secret values by name, and every
    problem found (an entry that is not an object, a bad name, type or value)."""
    if declared is None:
        return [], {}, []
    if not isinstance(declared, list):
        return [], {}, [Problem("environment_variables", "must be a list")]
    public: list[dict[str, Any]] = []
    secrets: dict[str, Any] = {}
    problems: list[Problem] = []
    seen: set[str] = set()
    for index, entry in enumerate(declared):
        problem = _check(index, entry, seen)
        if problem is not None:
            problems.append(problem)
            continue
        seen.add(entry["name"])
        if entry.get("value_type") == SECRET:
            secrets[entry["name"]] = entry.get("value")
        public.append({**entry, "value": HIDDEN} if entry.get("value_type") == SECRET else entry)
    return public, secrets, problems


def restore_hidden(declared: Any, previous: dict[str, Any] | None) -> Any:
    """The declarations with each secret sent back as `HIDDEN` given its stored value
    from the `previous` document: an editor saves what it was shown, never the secret."""
    kept: dict[str, Any] = (previous or {}).get(SECRETS_KEY) or {}
    if not isinstance(declared, list) or not kept:
        return declared
    return [
        {**entry, "value": kept[entry["name"]]}
        if isinstance(entry, dict)
        and entry.get("value_type") == SECRET
        and entry.get("value") == HIDDEN
        and entry.get("name") in kept
        else entry
        for entry in declared
    ]


def public_document(document: dict[str, Any]) -> dict[str, Any]:
    """The stored document as any face may show it: without the secret values."""
    return {key: value for key, value in document.items() if key != SECRETS_KEY}


def environment_values(document: dict[str, Any]) -> dict[str, Any]:
    """The `env` root a run's variable pool needs: every variable's value by name."""
    declared: list[dict[str, Any]] = document.get(DECLARED_KEY) or []
    secrets: dict[str, Any] = document.get(SECRETS_KEY) or {}
    return {
        entry["name"]: secrets.get(entry["name"])
        if entry.get("value_type") == SECRET
        else entry.get("value")
        for entry in declared
    }


def _check(index: int, entry: Any, seen: set[str]) -> Problem | None:
    if not isinstance(entry, dict):
        return Problem(
            f"environment_variables[{index}]", "must be an object with name, value_type and value"
        )
    name = entry.get("name")
    if not isinstance(name, str) or not _NAME.match(name):
        return Problem(
            f"environment_variables[{index}]",
            f"name {name!r} must be letters, digits and _ (not first a digit)",
        )
    reason = _value_problem(entry.get("value_type", "string"), entry.get("value"))
    if name in seen:
        reason = "is declared twice"
    return Problem(f"environment variable '{name}'", reason) if reason else None


def _value_problem(value_type: Any, value: Any) -> str | None:
    if not isinstance(value_type, str) or value_type not in VALUE_TYPES:
        return f"value_type {value_type!r} must be one of {sorted(VALUE_TYPES)}"
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if value_type == "number" and not is_number:
        return "a number variable needs a number value"
    if value_type != "number" and value is not None and not isinstance(value, str):
        return f"a {value_type} variable needs a text value"
    return None
