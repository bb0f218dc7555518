"""Sources and their write keys, the dedup keys, the outbox and the lake's shipping records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class Source(Base):
    """Where events come from (the mall, the mini-program, a store's POS, an import)."""

    __tablename__ = "sources"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    key_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    key_prefix: Mapped[str | None] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReceivedMessage(Base):
    """The dedup key: one row per (source, messageId), kept forever."""

    __tablename__ = "received_messages"

    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"), primary_key=True)
    message_id: Mapped[str] = mapped_column(String(200), primary_key=True)


class InboxBatch(Base):
    """A tracking request's valid messages, durable and acknowledged, waiting to be processed.

    Processing (dedup, identity, customer state, orders, outbox rows) deletes the row in the
    same transaction that writes its results, so each request is processed exactly once.
    """

    __tablename__ = "tracking_inbox"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forced_type: Mapped[str | None] = mapped_column(String(16))
    events: Mapped[int] = mapped_column(default=0)
    # The request body as it came (gzip stays gzip: a tenth of the bytes to write), and which
    # of its messages to process (null: all of them).
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(16), default="")
    indices: Mapped[str | None] = mapped_column(Text)


class DeadLetter(Base):
    """A message the processor could not apply (or a request it could not read), with why.

    Kept in the inbox row's own shape, so `siyu inbox replay` applies it as the processor would:
    a message alone is a one-element JSON list; an unreadable request is its body as received.
    """

    __tablename__ = "inbox_dead_letters"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("sources.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    forced_type: Mapped[str | None] = mapped_column(String(16))
    payload: Mapped[bytes] = mapped_column(LargeBinary)
    encoding: Mapped[str] = mapped_column(String(16), default="")
    indices: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(200))
    error: Mapped[str] = mapped_column(Text)
    failed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxEvent(Base):
    """An accepted event waiting for (or kept after) its trip to the lake."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_customer_ts", "customer_id", "timestamp"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(200))
    type: Mapped[str] = mapped_column(String(16))
    event: Mapped[str | None] = mapped_column(String(200))
    name: Mapped[str | None] = mapped_column(String(200))
    user_id: Mapped[str | None] = mapped_column(String(200))
    anonymous_id: Mapped[str | None] = mapped_column(String(200))
    group_id: Mapped[str | None] = mapped_column(String(200))
    previous_id: Mapped[str | None] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    touchpoint: Mapped[str | None] = mapped_column(String(128))
    timestamp: Mapped[datetime] = mapped_column(UTCDateTime)
    original_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    backfill: Mapped[bool] = mapped_column(default=False)
    properties: Mapped[str] = mapped_column(Text, default="{}")
    traits: Mapped[str] = mapped_column(Text, default="{}")
    context: Mapped[str] = mapped_column(Text, default="{}")
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LakeBatch(Base):
    """A claimed range of outbox rows; re-shipped to the same file names until marked shipped."""

    __tablename__ = "lake_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    first_id: Mapped[int] = mapped_column(BigInteger, default=0)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)
    rows: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="writing")  # writing | shipped
    files: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LakeCompaction(Base):
    """Small files of one date partition rewritten as one; inputs deleted only after the rename."""

    __tablename__ = "lake_compactions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    partition: Mapped[str] = mapped_column(String(64))
    inputs: Mapped[list[Any]] = mapped_column(JSON)
    output: Mapped[str] = mapped_column(String(300))
    status: Mapped[str] = mapped_column(String(16), default="writing")  # writing | done | aborted
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
