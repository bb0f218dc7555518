"""Reach's tables: channels and their settings, consent and suppression, the brand's caps and
quiet hours, and the delivery log every send goes through.

A message to one customer is one `deliveries` row, written *before* any provider is called: its
`key` is unique (the same broadcast, journey step or task never plans the same customer twice),
and its id is the idempotency key a provider sees where its API takes one. Rows that a send left
in `sending` after a crash are reconciled, never silently dropped or sent twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

# The channels Siyu reaches customers on, in the order a fallback usually tries them.
CHANNELS = ("wecom", "official_account", "sms", "email", "call")
# What a message is for: marketing needs consent and counts against caps; transactional
# (an order shipped, a password) needs neither.
PURPOSES = ("marketing", "transactional")
CONSENT_STATUSES = ("subscribed", "unsubscribed")
# How a consent or its withdrawal was given (PIPL asks for the record).
CONSENT_METHODS = (
    "import",
    "console",
    "api",
    "cli",
    "form",
    "reply",
    "one_click",
    "call_outcome",
    "platform",
)
SUPPRESSION_REASONS = (
    "bounced",
    "complaint",
    "replied_unsubscribe",
    "do_not_call",
    "unfollowed",
    "manual",
)
CAP_PERIODS = ("day", "week", "month")
# A delivery's life: planned (waiting for its time) → sending (handed over, outcome unknown) →
# sent / pending (a guide must confirm; a receipt will tell) → delivered | failed. Rows that are
# never sent say why: left_out (with a reason) or held_out (the holdout of an experiment).
DELIVERY_STATUSES = (
    "planned",
    "sending",
    "pending",
    "sent",
    "delivered",
    "failed",
    "left_out",
    "held_out",
    "cancelled",
)
# Why a customer in the audience gets no message (left_out's reason).
LEFT_OUT_REASONS = (
    "no_consent",
    "suppressed",
    "capped",
    "no_channel",
    "platform_limit",
    "cancelled",
)


class Channel(Base):
    """One channel's switch and settings. Secrets (an SMTP password, a provider's access key) stay
    in SIYU_* settings; what an operator chooses lives here: whether the channel sends for real
    (`live`), only writes to the log (`console`, the default in development) or is off, the
    provider, and its non-secret settings (an SMS sign name, a sender address's display name,
    a platform's daily limit)."""

    __tablename__ = "channels"

    channel: Mapped[str] = mapped_column(String(20), primary_key=True)
    mode: Mapped[str] = mapped_column(String(10), default="console")  # off | console | live
    provider: Mapped[str | None] = mapped_column(String(20))  # sms: aliyun | tencent
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(200))


class FrequencyCap(Base):
    """At most `max_messages` marketing messages per `period` (the recipient's calendar day,
    week from Monday, or month) on one channel, or across all of them (channel NULL)."""

    __tablename__ = "frequency_caps"
    __table_args__ = (UniqueConstraint("channel", "period"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(20))
    period: Mapped[str] = mapped_column(String(10))  # day | week | month
    max_messages: Mapped[int] = mapped_column()


class QuietHours(Base):
    """No marketing message between `start` and `end` (HH:MM, the recipient's own time zone;
    the brand's otherwise). A window may wrap midnight (21:00-09:00). Channel NULL: every
    channel without its own window."""

    __tablename__ = "quiet_hours"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str | None] = mapped_column(String(20), unique=True)
    start: Mapped[str] = mapped_column(String(5))
    end: Mapped[str] = mapped_column(String(5))


class Consent(Base):
    """A customer's current consent on one channel for marketing messages."""

    __tablename__ = "consents"
    __table_args__ = (UniqueConstraint("customer_id", "channel"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(14))  # subscribed | unsubscribed
    method: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))  # e.g. "store sign-up form 2026-11"
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(200))  # actor: user:…, token:…, customer


class ConsentChange(Base):
    """Every consent given or withdrawn, kept for good: when, how, from which source, by whom."""

    __tablename__ = "consent_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(20))
    status: Mapped[str] = mapped_column(String(14))
    method: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    changed_by: Mapped[str] = mapped_column(String(200))


class Suppression(Base):
    """An address no marketing message goes to on a channel: a bounced email, a number that
    replied "TD", a do-not-call outcome, an account that unfollowed. `address` is the normal
    form of the identity (customers.identity)."""

    __tablename__ = "suppressions"
    __table_args__ = (UniqueConstraint("channel", "address"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    address: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    reason: Mapped[str] = mapped_column(String(24))
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageContent(Base):
    """What a broadcast's variant or a journey's step says on one channel, as templates (Jinja2,
    sandboxed; messaging.templates) rendered for each customer when the message is sent. A
    delivery names its content rather than holding a copy: a broadcast to a million customers
    stores its text once."""

    __tablename__ = "message_contents"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    subject: Mapped[str | None] = mapped_column(String(300))  # email
    text: Mapped[str] = mapped_column(Text, default="")
    html: Mapped[str | None] = mapped_column(Text)  # email
    # Per channel: sms template code, sign name and params (templates); WeCom attachments
    # (image, link, miniprogram); an official-account template id, url and data (templates).
    extras: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Delivery(Base):
    """One message to one customer (the delivery log). Written before the provider is called."""

    __tablename__ = "deliveries"
    __table_args__ = (
        Index("ix_deliveries_due", "status", "send_at"),
        Index("ix_deliveries_origin", "origin", "origin_id"),
        Index("ix_deliveries_customer_at", "customer_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Unique per intended message: e.g. broadcast:12:customer:345, journey-step:9:entry:77.
    key: Mapped[str] = mapped_column(String(200), unique=True)
    origin: Mapped[str] = mapped_column(String(20))  # broadcast | journey | task | test | api
    origin_id: Mapped[int | None] = mapped_column(BigId)
    step: Mapped[str | None] = mapped_column(String(64))  # a journey's step id
    variant: Mapped[str | None] = mapped_column(String(16))  # A/B variant key, or "holdout"
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    channel: Mapped[str] = mapped_column(String(20))
    purpose: Mapped[str] = mapped_column(String(14), default="marketing")
    address: Mapped[str | None] = mapped_column(String(255))  # email, phone, openid, external id
    guide_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    # What is sent: the content's templates, rendered for this customer when it is sent; or,
    # for a one-off message (a test send, a guide's reply), the rendered content itself.
    content_id: Mapped[int | None] = mapped_column(ForeignKey("message_contents.id"))
    content: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="planned")
    reason: Mapped[str | None] = mapped_column(String(24))  # left_out's / failed's reason
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)  # after quiet hours
    provider_id: Mapped[str | None] = mapped_column(String(128))  # the provider's message id
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class GroupSend(Base):
    """A WeCom 群发 handed to one guide (add_msg_template): the guide confirms it in WeCom, and
    Siyu learns per customer whether it went (get_groupmsg_send_result)."""

    __tablename__ = "group_sends"
    __table_args__ = (UniqueConstraint("origin", "origin_id", "step", "guide_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    origin: Mapped[str] = mapped_column(String(20))
    origin_id: Mapped[int | None] = mapped_column(BigId)
    step: Mapped[str | None] = mapped_column(String(64))
    guide_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    msgid: Mapped[str | None] = mapped_column(String(128))  # WeCom's, once created
    # pending (not confirmed) | sent | partly | failed
    status: Mapped[str] = mapped_column(String(10), default="pending")
    recipients: Mapped[int] = mapped_column(default=0)
    sent: Mapped[int] = mapped_column(default=0)
    failed: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CallList(Base):
    """Outbound calls (外呼): deliveries on the `call` channel exported for a call centre as a
    file, whose outcomes (reached, no answer, refused, do-not-call) are imported back."""

    __tablename__ = "call_lists"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    origin: Mapped[str | None] = mapped_column(String(20))
    origin_id: Mapped[int | None] = mapped_column(BigId)
    rows: Mapped[int] = mapped_column(default=0)
    outcomes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # outcome → count
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "origin:origin_id" while the list is open, None once its outcomes are imported: unique,
    # so two dispatchers racing to open an origin's list make one (NULLs never collide).
    open_key: Mapped[str | None] = mapped_column(String(64), unique=True)


class InboundReply(Base):
    """A reply a customer sent on a one-way channel (an SMS reply), kept with what it did
    (e.g. "TD" unsubscribed). Its natural key makes a provider's repeated push one row."""

    __tablename__ = "inbound_replies"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    channel: Mapped[str] = mapped_column(String(20))
    key: Mapped[str] = mapped_column(String(200), unique=True)
    address: Mapped[str] = mapped_column(String(255))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    delivery_id: Mapped[int | None] = mapped_column(ForeignKey("deliveries.id"))
    text: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(String(20))  # unsubscribed | none
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
