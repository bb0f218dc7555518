"""Orders kept current by Order Completed / Order Refunded events and order imports."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    order_id: Mapped[str] = mapped_column(String(128), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    source: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20))  # completed | refunded | partially_refunded
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    amount_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    refunded_fen: Mapped[int] = mapped_column(BigInteger, default=0)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    store: Mapped[str | None] = mapped_column(String(64))
    touchpoint: Mapped[str | None] = mapped_column(String(128))
    products: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
