"""Run data retention: how long a run's record, event log and payloads are kept.

Cortex's run object carries `retention: {max_age_in_seconds, preserve_on_failure}` and
`retention_due_at`. A run with a max age is due `max_age_in_seconds` after it was created;
from then on it is gone from every face, and DynamoDB's TTL (plus the retention function
for its S3 payloads, functions/retention/handler.py) deletes what is left of it. No max
age keeps it forever; `preserve_on_failure` keeps a run that ended failed, whatever its age.

Due times have DynamoDB TTL's resolution, whole seconds: the creation time's second plus
the max age, so every face and the TTL attribute agree on one instant.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from functions.core import clock

# A century: beyond it a due time is "never" for any practical purpose, and the sum stays
# far inside what datetime and DynamoDB numbers hold.
MAX_AGE_LIMIT = 100 * 365 * 24 * 3600

# Strict: 3600 only, never "3600", 3600.5 or true (a JSON body's integer, as the API says).
MaxAge = Annotated[int, Field(strict=True, ge=1, le=MAX_AGE_LIMIT)]
Preserve = Annotated[bool, Field(strict=True)]


class Retention(BaseModel):
    """A run's retention (and a workflow's default one, which its new runs take)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    # Seconds from the run's creation until it is deleted; None keeps it forever.
    max_age_in_seconds: MaxAge | None = None
    # Keep a run that ended failed, however old it gets (for post-mortems).
    preserve_on_failure: Preserve = False

    def due_epoch(self, created_at: str) -> int | None:
        """When a run created at `created_at` is due (epoch seconds), None: never."""
        if self.max_age_in_seconds is None:
            return None
        return int(clock.parse_iso(created_at).timestamp()) + self.max_age_in_seconds

    def expires_at(self, created_at: str, *, failed: bool) -> int | None:
        """The TTL its items carry: the due time, unless the run is kept (no max age, or
        failed and preserved)."""
        if failed and self.preserve_on_failure:
            return None
        return self.due_epoch(created_at)

    def due_at(self, created_at: str, *, failed: bool) -> str | None:
        """`retention_due_at` as the API shows it (ISO 8601), None while the run is kept."""
        epoch = self.expires_at(created_at, failed=failed)
        return None if epoch is None else clock.iso(datetime.fromtimestamp(epoch, UTC))


class RetentionBody(BaseModel):
    """The body of `PATCH /apps/{app_id}/workflows/{workflow_id}/runs/{run_id}/retention`.

    A partial update: the fields sent replace the run's, the others stay as they are
    (`null` max age: keep forever). At least one field must be sent; unknown ones are
    refused, so a misspelt field never passes for a successful no-op.
    """

    model_config = ConfigDict(extra="forbid")

    max_age_in_seconds: MaxAge | None = None
    preserve_on_failure: Preserve = False

    @model_validator(mode="before")
    @classmethod
    def _something_sent(cls, data: Any) -> Any:
        if isinstance(data, dict) and not data:
            raise ValueError("send max_age_in_seconds, preserve_on_failure or both")
        return data

    def applied_to(self, current: Retention) -> Retention:
        """`current` with the fields this body sets."""
        return current.model_copy(
            update={name: getattr(self, name) for name in self.model_fields_set}
        )
