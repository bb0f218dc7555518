"""The console sender: writes each message to the log ("siyu.messaging") and answers sent. The
default in development and in the demo, so every path up to the provider runs for real.

WeCom's console sender answers as WeCom's 群发 does: `pending`, one provider id per guide's
template, so each guide gets a share (messaging.group_sends) to send by hand and confirm on
Siyu's page (/reach/my); a share nobody confirms expires as WeCom's does. Its ids start with
CONSOLE_PREFIX, so the follow-up never asks WeCom about them."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence

from siyu.messaging.channels.wecom import Template, templates
from siyu.messaging.sending import Outcome, Outgoing

log = logging.getLogger("siyu.messaging")


class ConsoleSender:
    def __init__(self, channel: str):
        self.channel = channel

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        self.log(batch)
        return [
            Outcome(item.delivery_id, "sent", provider_id=f"console-{item.key}") for item in batch
        ]

    def log(self, batch: Sequence[Outgoing]) -> None:
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

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        # Nothing left the machine: a line in a log is no message twice.
        return [
            Outcome(item.delivery_id, "sent", provider_id=f"console-{item.key}") for item in batch
        ]


CONSOLE_PREFIX = "console-"


class ConsoleGroupSender(ConsoleSender):
    """WeCom without WeCom: each guide's template is logged and waits (`pending`) for the guide
    to confirm on Siyu's page. A delivery without a guide fails, as it does with WeCom."""

    def __init__(self) -> None:
        super().__init__("wecom")

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        self.log(batch)
        return _shares(batch)

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        return list(_shares(batch))  # the same batch gets the same ids: the same shares


def _shares(batch: Sequence[Outgoing]) -> list[Outcome]:
    outcomes = [
        Outcome(o.delivery_id, "failed", error="no_guide") for o in batch if not o.guide_userid
    ]
    for template in templates(batch):
        msgid = console_msgid(template)
        outcomes += [Outcome(o.delivery_id, "pending", provider_id=msgid) for o in template.batch]
    return outcomes


def console_msgid(template: Template) -> str:
    """A stand-in for WeCom's msgid: one per guide's template, fixed by its guide and first key."""
    said = f"{template.sender}|{template.batch[0].key}".encode()
    return CONSOLE_PREFIX + hashlib.sha256(said).hexdigest()[:32]


def is_console(msgid: str | None) -> bool:
    """Whether a 群发 id was made by the console sender (no WeCom knows it)."""
    return bool(msgid) and str(msgid).startswith(CONSOLE_PREFIX)


class NotConnected:
    """A channel set to live whose sender cannot be built: every delivery fails, saying what to
    set, rather than waiting in the log for ever."""

    def __init__(self, channel: str, reason: str):
        self.channel, self.reason = channel, reason

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        return [Outcome(item.delivery_id, "failed", error=self.reason) for item in batch]

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        return [None for _ in batch]
