"""Channel codes (渠道活码), the guides they route to, and one-item-one-code batches."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

KINDS = ("store", "guide", "poster", "product_item", "group", "other")
TARGET_KINDS = ("wecom_contact_way", "official_account_qr", "mini_program", "url")
WEEKDAYS = "1234567"  # ISO weekdays, Monday = 1


class ChannelCode(Base):
    """A QR code that attributes every scan and new contact to its touchpoint.

    `code` is the path of the landing (`/q/{code}`), the WeCom contact way's `state` and the
    official account's scene key, so one string follows a customer from the scan to the add.
    """

    __tablename__ = "channel_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16), default="other")
    touchpoint_id: Mapped[int] = mapped_column(ForeignKey("touchpoints.id"), index=True)
    store_id: Mapped[int | None] = mapped_column(ForeignKey("stores.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    target_kind: Mapped[str] = mapped_column(String(24), default="url")
    target: Mapped[str] = mapped_column(String(1000), default="")
    tag_names: Mapped[list] = mapped_column(JSON, default=list)
    welcome_message: Mapped[str | None] = mapped_column(Text)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("code_batches.id"), index=True)
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CodeGuide(Base):
    """One guide a code routes new contacts to: weight, schedule, daily limit, or backup."""

    __tablename__ = "channel_code_guides"
    __table_args__ = (UniqueConstraint("code_id", "staff_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code_id: Mapped[int] = mapped_column(ForeignKey("channel_codes.id"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    weight: Mapped[int] = mapped_column(default=1)
    # ISO weekdays as digits ("12345" = Monday to Friday) and a daily window in brand time.
    weekdays: Mapped[str] = mapped_column(String(7), default=WEEKDAYS)
    start_time: Mapped[str | None] = mapped_column(String(5))  # "09:00"
    end_time: Mapped[str | None] = mapped_column(String(5))  # "21:00", exclusive
    daily_limit: Mapped[int | None]
    is_backup: Mapped[bool] = mapped_column(default=False)


class CodeBatch(Base):
    """One-item-one-code (一物一码): many codes made at once, and the ZIP of their images."""

    __tablename__ = "code_batches"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    prefix: Mapped[str] = mapped_column(String(40), unique=True)
    count: Mapped[int]
    done: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default="queued")  # queued|running|done|failed
    archive: Mapped[str | None] = mapped_column(String(1000))
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
