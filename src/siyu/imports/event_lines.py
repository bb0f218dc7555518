"""JSON lines of Segment messages, imported as given."""

from __future__ import annotations

import orjson
from sqlalchemy.orm import Session

from siyu.imports.plans import Planned, Problem, checked
from siyu.imports.readers import SourceRow

LINE = "line"  # the one cell of a JSON-lines row


class EventLines:
    """Plans one message a line; a line keeps its messageId (else ingest hashes its content)."""

    def plan(self, session: Session, rows: list[SourceRow]) -> list[Planned | Problem]:
        return [self._message(row) for row in rows]

    def _message(self, row: SourceRow) -> Planned | Problem:
        line = row.cells[LINE]
        if not isinstance(line, str):
            return Problem(row, None, "not JSON (the line holds no text)")
        try:
            raw = orjson.loads(line)
        except orjson.JSONDecodeError as error:
            return Problem(row, None, f"not JSON ({error})")
        if not isinstance(raw, dict):
            return Problem(row, None, "a line must be a JSON object (one Segment message)")
        # An import is not a device sending late: sentAt would move the event to the import time.
        message = {k: v for k, v in raw.items() if k != "sentAt" and not k.startswith("_")}
        return checked(row, [message], {})
