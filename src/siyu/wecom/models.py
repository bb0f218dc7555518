"""WeCom's callback inbox, loss alerts, contact ways, group members, tag links and sync runs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow

CALLBACK_STATUSES = ("queued", "done", "failed")
LOSS_KINDS = ("del_follow_user", "del_external_contact")


class WecomCallback(Base):
    """One callback as WeCom sent it, stored before it is acknowledged (WeCom waits 5 s)."""

    __tablename__ = "wecom_callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # The event's natural key (change type + UserID + ExternalUserID/ChatId + …): a replay
    # finds its row here and stores nothing new.
    dedup_key: Mapped[str] = mapped_column(String(400), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    change_type: Mapped[str | None] = mapped_column(String(64), index=True)
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    result: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class LossAlert(Base):
    """A customer lost (流失): they deleted the guide, or the guide deleted them."""

    __tablename__ = "wecom_loss_alerts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    kind: Mapped[str] = mapped_column(String(24))
    external_userid: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    manager_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"), index=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class ContactWay(Base):
    """A WeCom contact way (联系我) made for a channel code: its `state` is the code."""

    __tablename__ = "wecom_contact_ways"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    config_id: Mapped[str] = mapped_column(String(200))
    qr_code: Mapped[str] = mapped_column(String(1000))
    userids: Mapped[list] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class GroupMember(Base):
    """Who is in a customer group (客户群) as last seen, to tell joins from leaves."""

    __tablename__ = "wecom_group_members"
    __table_args__ = (UniqueConstraint("chat_id", "member_id"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    chat_id: Mapped[str] = mapped_column(String(200), index=True)
    member_id: Mapped[str] = mapped_column(String(200))
    is_external: Mapped[bool] = mapped_column(default=True)
    joined_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TagLink(Base):
    """A WeCom corp tag id and the Siyu tag it is."""

    __tablename__ = "wecom_tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    wecom_tag_id: Mapped[str] = mapped_column(String(200), unique=True)
    tag_id: Mapped[int] = mapped_column(ForeignKey("tags.id"), index=True)


class SyncRun(Base):
    """A full re-sync of every guide's customers; the cursor lets a stopped run resume."""

    __tablename__ = "wecom_sync_runs"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    status: Mapped[str] = mapped_column(String(10), default="running", index=True)
    userids: Mapped[list] = mapped_column(JSON, default=list)
    user_index: Mapped[int] = mapped_column(default=0)
    cursor: Mapped[str] = mapped_column(String(500), default="")
    customers: Mapped[int] = mapped_column(default=0)
    calls: Mapped[int] = mapped_column(default=0)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
