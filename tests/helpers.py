"""Small builders shared by the tests: Segment messages and authenticated posts."""

from __future__ import annotations

import itertools

_ids = itertools.count(1)


def track(event: str, user_id: str | None = "u1", **fields) -> dict:
    message = {"type": "track", "event": event, "messageId": f"m{next(_ids)}", **fields}
    if user_id:
        message["userId"] = user_id
    return message


def identify(user_id: str | None = "u1", traits: dict | None = None, **fields) -> dict:
    message = {"type": "identify", "traits": traits or {}, "messageId": f"m{next(_ids)}", **fields}
    if user_id:
        message["userId"] = user_id
    return message


def post_batch(client, key: str, events: list[dict], **extra):
    return client.post("/v1/batch", json={"batch": events, **extra}, auth=(key, ""))
