"""The checks ingest() makes on a message, made before an import writes anything."""

from __future__ import annotations

from siyu.core.db import utcnow
from siyu.events.service import Rejection, validate


def message_problem(raw: dict) -> tuple[str | None, str] | None:
    """(field, reason) when ingest() would reject this message, else None."""
    try:
        validate(0, raw, utcnow(), None, None)
    except Rejection as problem:
        return problem.field, problem.reason
    return None
