"""The checks ingest() makes on a message, made before an import writes anything."""

from __future__ import annotations

import orjson
from pydantic import ValidationError

from siyu.core.errors import SiyuError
from siyu.events.schemas import Message
from siyu.events.service import MAX_EVENT_BYTES, identity_keys
from siyu.orders.service import ORDER_EVENTS, check_order_event


def message_problem(raw: dict) -> tuple[str | None, str] | None:
    """(field, reason) when ingest() would reject this message, else None."""
    if len(orjson.dumps(raw)) > MAX_EVENT_BYTES:
        return None, "the event is larger than 32 KB"
    try:
        message = Message.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        return ".".join(str(part) for part in first["loc"]) or None, first["msg"]
    missing = message.missing()
    if missing:
        return missing
    if message.type == "track" and message.event in ORDER_EVENTS:
        try:
            check_order_event(message.event, message.properties)
        except SiyuError as problem:
            return problem.field, problem.message
    if not identity_keys(message):
        return "userId", "neither userId nor anonymousId can identify anyone"
    return None
