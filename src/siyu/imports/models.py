"""Console imports: one row per upload and what became of it (its mapping, status and summaries)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, UTCDateTime


class ImportRow(Base):
    """What `imports.jobs.ImportRecord` keeps; the id starts with the upload time."""

    __tablename__ = "imports"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))  # customers | orders | events
    file: Mapped[str] = mapped_column(String(255))
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    uploaded_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16))
    rows_estimate: Mapped[int | None] = mapped_column(BigInteger)
    header: Mapped[list[str]] = mapped_column(JSON, default=list)
    first_rows: Mapped[list[Any]] = mapped_column(JSON, default=list)
    columns: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    customer_id_type: Mapped[str] = mapped_column(String(32), default="auto")
    skip: Mapped[dict[str, list[str]]] = mapped_column(JSON, default=dict)
    ignored_columns: Mapped[list[str]] = mapped_column(JSON, default=list)
    skip_bad: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int] = mapped_column(Integer, default=0)
    job_key: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str | None] = mapped_column(String(32))
    done: Mapped[int] = mapped_column(BigInteger, default=0)
    total: Mapped[int | None] = mapped_column(BigInteger)
    check_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    run_summary: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
