"""The one interface every channel's sender implements, and what passes through it.

A sender is handed deliveries already written to the delivery log (and committed as `sending`):
it calls its provider and answers one Outcome per delivery. It never writes to the database
itself; the dispatcher (messaging.dispatch) records what it answers. Where the provider's API
takes an idempotency key, the sender passes `Outgoing.key`, so a batch sent again after a crash
is not sent twice; where it does not, `reconcile` asks the provider what became of deliveries a
crash left in `sending` (None: the provider cannot tell).

A sender whose provider takes no idempotency key and cannot be asked afterwards (SMTP) also
implements `SendsEach`: it yields each delivery's Outcome the moment the provider answers it, and
the dispatcher records and commits that outcome before the next message is handed over, so a
crash can leave at most the one message in flight (accepted, not yet recorded) to be sent again.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

OutcomeStatus = Literal["sent", "pending", "delivered", "failed"]


@dataclass(frozen=True)
class Outgoing:
    """One delivery as a sender sees it: the address on its channel and the rendered content."""

    delivery_id: int
    key: str  # the idempotency key the provider sees: stable across retries and restarts
    channel: str
    customer_id: int
    address: str
    purpose: str  # marketing | transactional
    # Rendered for this customer. Keys by channel: subject, text, html, unsubscribe_url (email);
    # template, params, sign_name (sms); text, image, link, miniprogram (wecom); template_id,
    # url, data, or text (official account).
    content: dict[str, Any] = field(default_factory=dict)
    guide_userid: str | None = None  # WeCom: the guide who sends it


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery. `pending`: handed over, the final word comes later (a guide
    must confirm a WeCom 群发; an SMS receipt). `retry`: a failure worth trying again."""

    delivery_id: int
    status: OutcomeStatus
    provider_id: str | None = None
    error: str | None = None
    retry: bool = False


class Sender(Protocol):
    """A channel's way out. `send` answers one Outcome per delivery, in any order."""

    channel: str

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]: ...

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]: ...


@runtime_checkable
class SendsEach(Protocol):
    """A sender that answers one delivery at a time: `send_each` yields each Outcome as soon as
    the provider has answered that delivery (an SMTP server's 250), before the next one is
    handed over. The dispatcher commits each before asking for the next."""

    channel: str

    def send_each(self, batch: Sequence[Outgoing]) -> Iterator[Outcome]: ...
