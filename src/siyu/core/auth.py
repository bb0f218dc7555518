"""Secrets: write keys for the tracking API and bearer tokens for the management API."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import ForeignKey, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from siyu.core.db import Base, BigId, UTCDateTime, utcnow
from siyu.core.errors import InvalidInput, Unauthorized

ROLES = ("admin", "operator", "analyst", "guide")
# An API token may also be the brand's mall (its mall, mini-program or POS): it may only redeem
# coupons and reserve, confirm and join promotions at checkout.
TOKEN_ROLES = (*ROLES, "mall")


def new_secret(prefix: str) -> str:
    return f"{prefix}_{secrets.token_urlsafe(24)}"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    token_prefix: Mapped[str] = mapped_column(String(12))
    # A guide's token sees only the customers this staff member owns.
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


def create_token(
    session: Session, name: str, role: str, staff_id: int | None = None
) -> tuple[ApiToken, str]:
    """A management API token; the secret is returned once and stored hashed. A guide's token
    names the guide (staff id) whose customers it may see."""
    if not name.strip():
        raise InvalidInput("a token needs a name", field="name")
    if role not in TOKEN_ROLES:
        raise InvalidInput(f"role must be one of {', '.join(TOKEN_ROLES)}", field="role")
    if role == "guide" and staff_id is None:
        raise InvalidInput("a guide's token must name the guide (staff id)", field="staff_id")
    secret = new_secret("sy")
    token = ApiToken(
        name=name.strip(),
        role=role,
        token_hash=hash_secret(secret),
        token_prefix=secret[:10],
        staff_id=staff_id,
    )
    session.add(token)
    session.flush()
    return token, secret


def token_for(session: Session, secret: str) -> ApiToken:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    if token is None or token.revoked_at is not None:
        raise Unauthorized("the bearer token is unknown or revoked", field="Authorization")
    return token
