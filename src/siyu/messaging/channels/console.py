"""The console sender: writes each message to the log ("siyu.messaging") and answers sent. The
default in development and in the demo, so every path up to the provider runs for real."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from siyu.messaging.sending import Outcome, Outgoing

log = logging.getLogger("siyu.messaging")


class ConsoleSender:
    def __init__(self, channel: str):
        self.channel = channel

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        for item in batch:
            text = item.content.get("subject") or item.content.get("text") or ""
            log.info(
                "%s → %s (customer %s, delivery %s): %s",
                self.channel,
                item.address,
                item.customer_id,
                item.delivery_id,
                str(text)[:200],
            )
        return [
            Outcome(item.delivery_id, "sent", provider_id=f"console-{item.key}") for item in batch
        ]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        # Nothing left the machine: a line in a log is no message twice.
        return [
            Outcome(item.delivery_id, "sent", provider_id=f"console-{item.key}") for item in batch
        ]


class NotConnected:
    """A channel set to live whose sender cannot be built: every delivery fails, saying what to
    set, rather than waiting in the log for ever."""

    def __init__(self, channel: str, reason: str):
        self.channel, self.reason = channel, reason

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return [Outcome(item.delivery_id, "failed", error=self.reason) for item in batch]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        return [None for _ in batch]
