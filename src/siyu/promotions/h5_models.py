"""The customer pages' (H5) sign-in codes: a 6-digit code sent by SMS, kept only as its hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class H5PhoneCode(Base):
    """One code sent to a phone: valid until `expires_at`, for a few attempts, used once."""

    __tablename__ = "h5_phone_codes"
    __table_args__ = (
        Index("ix_h5_phone_codes_phone", "phone", "created_at"),
        Index("ix_h5_phone_codes_client", "client", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    phone: Mapped[str] = mapped_column(String(32))
    client: Mapped[str] = mapped_column(String(64))  # the asking address (rate limits)
    code_hash: Mapped[str] = mapped_column(String(64))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
