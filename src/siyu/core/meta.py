"""Brand-wide key/value facts the system keeps about itself (e.g. that the demo is loaded)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, UTCDateTime, utcnow


class MetaEntry(Base):
    __tablename__ = "meta"

    key: Mapped[str] = mapped_column(String(100), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


def read(session: Session, key: str) -> dict[str, Any] | None:
    return session.scalar(select(MetaEntry.value).where(MetaEntry.key == key))


def write(session: Session, key: str, value: dict[str, Any]) -> None:
    entry = session.get(MetaEntry, key)
    if entry is None:
        session.add(MetaEntry(key=key, value=value))
    else:
        entry.value = value
    session.flush()
