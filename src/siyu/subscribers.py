"""Who acts on the events written to the outbox, listed in one place above the domains.

`events` publishes every event it writes (events.outbox.write) and imports no feature domain;
a domain that cares about what happened is named here. Each entry point (the app factory, the
`siyu` command, the tests) calls wire() once: nothing subscribes by being imported.
"""

from __future__ import annotations

from siyu.events import outbox
from siyu.staff.task_events import complete_by_messages

SUBSCRIBERS: tuple[outbox.Subscriber, ...] = (
    complete_by_messages,  # a guide's `Message Sent` carries out their message task
)


def wire() -> None:
    """Subscribe the domains to the events written in this process."""
    outbox.subscribe(SUBSCRIBERS)
