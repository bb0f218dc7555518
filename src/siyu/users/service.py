"""Users: create, sign in (throttled), sessions that expire, language preference."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import NoReturn

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.core.auth import ROLES, hash_secret
from siyu.core.db import utcnow
from siyu.core.errors import Conflict, InvalidInput, SiyuError, Unauthorized
from siyu.core.i18n import N_
from siyu.staff.models import Staff
from siyu.users import throttle
from siyu.users.models import User, WebSession

SESSION_IDLE = timedelta(hours=8)  # a session unused this long expires
SESSION_MAX = timedelta(days=7)
MIN_PASSWORD = 8
_hasher = PasswordHasher()
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class SignInDelayed(SiyuError):
    """Too many failed sign-ins from this address or for this account: wait `seconds`."""

    status = 429
    code = "delayed"

    def __init__(self, seconds: int):
        super().__init__(N_("too many failed sign-ins; try again in %(seconds)s seconds"))
        self.seconds = seconds


@dataclass(frozen=True)
class SignedIn:
    user: User
    session_secret: str
    csrf_token: str
    known_browser: str  # the cookie that exempts this browser from the account's throttle


def create_user(
    session: Session,
    email: str,
    password: str,
    role: str,
    name: str | None = None,
    staff_id: int | None = None,
) -> User:
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput(f"{email!r} is not an email address", field="email")
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"the password needs at least {MIN_PASSWORD} characters", field="password"
        )
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if role == "guide" and staff_id is None:
        raise InvalidInput("a guide user must be linked to a staff member", field="staff_id")
    if staff_id is not None and session.get(Staff, staff_id) is None:
        raise InvalidInput(f"no staff member {staff_id}", field="staff_id")
    if session.scalar(select(User.id).where(User.email == email)):
        raise Conflict(f"a user with the email {email} exists already", field="email")
    user = User(
        email=email, name=name, password_hash=_hasher.hash(password), role=role, staff_id=staff_id
    )
    session.add(user)
    session.flush()
    return user


def sign_in(
    session: Session,
    email: str,
    password: str,
    address: str = "unknown",
    known_browser: str | None = None,
) -> SignedIn:
    """Check a password, throttled per account and per client address (`users.throttle`); an
    unknown email is counted, refused and answered exactly as a wrong password is."""
    user = session.scalar(select(User).where(User.email == email.strip().lower()))
    now = utcnow()
    keys = [throttle.address_key(address)]
    if not throttle.is_known_browser(user, known_browser):
        keys.append(throttle.account_key(email))
    wait = throttle.wait_seconds(session, keys, now)
    if wait:
        raise SignInDelayed(wait)
    if user is None or not user.is_active:
        _hasher.hash(password)  # the same work as a real check, so timing reveals nothing
        return _failed(session, keys, now)
    try:
        _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, InvalidHashError):
        return _failed(session, keys, now)
    throttle.lift(session, throttle.account_key(email))
    user.last_login_at = now
    secret, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    session.add(
        WebSession(
            id=hash_secret(secret), user_id=user.id, csrf_token=csrf, expires_at=now + SESSION_IDLE
        )
    )
    session.flush()
    return SignedIn(user, secret, csrf, throttle.known_browser(user))


def _failed(session: Session, keys: list[str], now) -> NoReturn:
    for key in keys:
        throttle.record_failure(session, key, now)
    raise Unauthorized(N_("wrong email or password"), field="password")


def session_user(session: Session, secret: str) -> tuple[User, WebSession] | None:
    """The user behind a session cookie, sliding its idle expiry; None when it has expired."""
    web = session.get(WebSession, hash_secret(secret))
    now = utcnow()
    if web is None or web.expires_at <= now or web.created_at + SESSION_MAX <= now:
        return None
    user = session.get(User, web.user_id)
    if user is None or not user.is_active:
        return None
    if web.expires_at - now < SESSION_IDLE - timedelta(minutes=5):
        web.expires_at, web.last_seen_at = now + SESSION_IDLE, now
    return user, web


def sign_out(session: Session, secret: str) -> None:
    session.execute(delete(WebSession).where(WebSession.id == hash_secret(secret)))


def set_locale(session: Session, user: User, locale: str) -> None:
    user.locale = locale
    session.flush()


def sign_in_delay(session: Session, email: str) -> datetime | None:
    """Until when this account's sign-ins (from browsers it never used) wait, if they do now."""
    return throttle.delayed_until(session, email, utcnow())


def lift_sign_in_delay(session: Session, email: str) -> None:
    throttle.lift(session, throttle.account_key(email))
