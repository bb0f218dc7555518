"""Small builders shared by the tests: Segment messages, authenticated posts, and the app on a
real loopback server."""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

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


def wecom_broadcast(session, customer_ids: list[int], guide_id: int, text: str, **delivery):
    """A broadcast of `text` on WeCom, sending, with one delivery per customer through the guide
    (address `wm-<id>`); `delivery` sets the rest of each row (status, provider_id, send_at)."""
    from siyu.broadcasts import service as broadcasts
    from siyu.messaging.models import Delivery

    made = broadcasts.create(
        session,
        name="会员日",
        actor="test",
        channels=["wecom"],
        variants=[broadcasts.VariantSpec(text=text)],
        customer_ids=customer_ids,
    )
    made.status = "sending"
    content = broadcasts.variants_of(session, made)[0].contents["wecom"]
    for c in customer_ids:
        session.add(
            Delivery(
                key=f"broadcast:{made.id}:{c}",
                origin="broadcast",
                origin_id=made.id,
                customer_id=c,
                channel="wecom",
                address=f"wm-{c}",
                guide_id=guide_id,
                content_id=content,
                **delivery,
            )
        )
    session.flush()
    return made


# Long enough that a client slowed by a loaded machine (its threads and the server's share one
# GIL here) never reuses a keep-alive connection the server is closing that instant: that race
# is the transport's, and these tests are about what the app answers.
KEEP_ALIVE_SECONDS = 60


@contextmanager
def serving(app: Any) -> Iterator[tuple[str, int]]:
    """The app as `siyu serve` serves it, on its own event loop in a thread, on a loopback
    port: (host, port) once it has started."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(app, log_level="warning", timeout_keep_alive=KEEP_ALIVE_SECONDS)
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not running.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert running.started, "the server did not start"
    try:
        yield listener.getsockname()
    finally:
        running.should_exit = True
        thread.join(timeout=20)
