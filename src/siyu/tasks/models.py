"""Guide tasks (导购任务): what headquarters hands to guides, one assignment per customer."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

TASK_KINDS = ("message", "follow_up", "invite")
TASK_STATUSES = ("open", "closed")
DONE_HOW = ("console", "cli", "api", "message_sent")


class GuideTask(Base):
    """A task headquarters hands to guides (导购任务): e.g. send this message to these customers
    of yours by Friday. Each targeted customer with an owner becomes one assignment."""

    __tablename__ = "guide_tasks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))  # message | follow_up | invite
    instructions: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str | None] = mapped_column(Text)  # what to send, for a message task
    segment_key: Mapped[str | None] = mapped_column(String(64))  # the target, when a segment
    due_date: Mapped[date] = mapped_column(Date)  # the brand's day; done by its end
    status: Mapped[str] = mapped_column(String(10), default="open")
    targeted: Mapped[int] = mapped_column(default=0)  # customers the target named
    unowned: Mapped[int] = mapped_column(default=0)  # of them, without a guide: not assigned
    created_by: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TaskAssignment(Base):
    """One customer of one guide in a task; done once the guide did it (done_at, done_how)."""

    __tablename__ = "task_assignments"
    __table_args__ = (UniqueConstraint("task_id", "customer_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("guide_tasks.id"))
    guide_id: Mapped[int] = mapped_column(ForeignKey("staff.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_how: Mapped[str | None] = mapped_column(String(20))  # console | cli | api | message_sent


class CustomerNote(Base):
    """A guide's note on a customer (导购备注): what they learned in a chat or in the store. Written
    by the brand, so it is never the customer's activity: no event, no last-seen time."""

    __tablename__ = "customer_notes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))  # the guide who wrote it
    author: Mapped[str] = mapped_column(String(200))  # the actor, e.g. user:guide@brand.cn
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
