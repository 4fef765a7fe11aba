"""Domain errors. Handlers map them to HTTP statuses per API face; the core never sees HTTP."""

from __future__ import annotations

from dataclasses import dataclass


class DomainError(Exception):
    """Base class: every expected failure the core reports to a caller."""


class NotFound(DomainError):
    def __init__(self, what: str, ident: str) -> None:
        super().__init__(f"{what} '{ident}' not found")
        self.what = what
        self.ident = ident


class Forbidden(DomainError):
    pass


class Conflict(DomainError):
    pass


class DraftNotSync(Conflict):
    """A draft save based on a draft that is no longer current (an editor's stale copy)."""


@dataclass(frozen=True)
class Problem:
    """One reason a document was refused; `where` names the node, edge or field."""

    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}" if self.where else self.reason


class InvalidWorkflow(DomainError):
    """Every problem found at once, so a user fixes them in one round trip."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


class NodeError(Exception):
    """Raised inside a node's run; the wrapper records it against the node."""

    def __init__(self, message: str, error_type: str = "NodeError") -> None:
        super().__init__(message)
        self.error_type = error_type


class Refused(DomainError):
    """A request the core turns down for a reason with a stable code (`invalid_param`,
    `app_unavailable`, `file_too_large`, …); each face chooses the HTTP status."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
