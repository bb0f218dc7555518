"""What the brand sets in the console and Siyu keeps in its database: the trait dictionary."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class TraitLabel(Base):
    """The brand's name for a trait (value "") or for one value of a trait (属性字典), in both
    of the console's languages; it replaces the built-in one (settings/labels.py)."""

    __tablename__ = "trait_labels"
    __table_args__ = (UniqueConstraint("trait", "value"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    trait: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(200), default="")  # "" names the trait itself
    zh: Mapped[str] = mapped_column(String(100))
    en: Mapped[str] = mapped_column(String(100), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
