"""The official account's callback inbox and the scene QR codes made for channel codes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow


class OfficialAccountCallback(Base):
    """One message or event the official account pushed, stored before it is answered."""

    __tablename__ = "wechat_callbacks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # FromUserName + event + EventKey + CreateTime, or MsgId for a message: a retry is one row.
    dedup_key: Mapped[str] = mapped_column(String(400), unique=True)
    event: Mapped[str] = mapped_column(String(64))
    fields: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(10), default="queued", index=True)
    result: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SceneQrCode(Base):
    """A permanent scene QR code (QR_LIMIT_STR_SCENE) whose scene string is a channel code."""

    __tablename__ = "wechat_scene_codes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    ticket: Mapped[str] = mapped_column(String(500))
    url: Mapped[str] = mapped_column(String(1000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Follower(Base):
    """What Siyu knows of a follower from the account's callbacks: whether they follow, and
    their last interaction (a message, a follow, a scan, a menu click), which opens WeChat's
    48-hour window for customer-service messages (客服消息)."""

    __tablename__ = "wechat_followers"

    openid: Mapped[str] = mapped_column(String(64), primary_key=True)
    following: Mapped[bool] = mapped_column(default=True)
    last_interaction_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
