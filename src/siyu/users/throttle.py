"""Sign-in throttling: failures slow down further tries, per account and per client address.

Never a lockout. After a few free failures each one doubles the wait before the next try, up to
MAX_DELAY, and a day without failures forgets them. An account's count is kept for any email,
known or not, and answers the same, so the throttle says nothing about which accounts exist.
A browser that has signed in to the account before carries a `known browser` cookie (a MAC
keyed by the account's password hash), and the account's throttle does not apply to it: guessing
at the admin's password from elsewhere can slow strangers down, never lock the admin out.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.users.models import SignInThrottle, User

FREE_FAILURES = {"account": 5, "address": 20}  # a whole office may share one address
MAX_DELAY = timedelta(minutes=15)
FORGET_AFTER = timedelta(days=1)


def account_key(email: str) -> str:
    # Hashed: the table never lists the emails someone tried.
    return "account:" + hashlib.sha256(email.strip().lower().encode()).hexdigest()


def address_key(address: str) -> str:
    return f"address:{address[:80]}"


def wait_seconds(session: Session, keys: list[str], now: datetime) -> int:
    """How long until these keys allow a try; 0 when they do now."""
    rows = session.scalars(select(SignInThrottle).where(SignInThrottle.key.in_(keys)))
    until = max((row.blocked_until for row in rows if row.blocked_until), default=None)
    if until is None or until <= now:
        return 0
    return max(1, int((until - now).total_seconds() + 0.999))


def record_failure(session: Session, key: str, now: datetime) -> None:
    row = _row(session, key, now)
    if row.last_failure_at + FORGET_AFTER < now:
        row.failures = 0
    row.failures += 1
    row.last_failure_at = now
    over = row.failures - FREE_FAILURES[key.split(":", 1)[0]]
    if over > 0:
        row.blocked_until = now + min(timedelta(seconds=2 ** min(over - 1, 20)), MAX_DELAY)
    session.flush()


def lift(session: Session, key: str) -> None:
    session.execute(delete(SignInThrottle).where(SignInThrottle.key == key))


def delayed_until(session: Session, email: str, now: datetime) -> datetime | None:
    """When an account's sign-ins from unknown browsers may go on, if they wait now."""
    row = session.get(SignInThrottle, account_key(email))
    return row.blocked_until if row and row.blocked_until and row.blocked_until > now else None


def _row(session: Session, key: str, now: datetime) -> SignInThrottle:
    row = session.get(SignInThrottle, key)
    if row is not None:
        return row
    try:
        with session.begin_nested():  # two failures at once: the second finds the first's row
            row = SignInThrottle(key=key, failures=0, last_failure_at=now)
            session.add(row)
    except IntegrityError:
        row = session.get_one(SignInThrottle, key, populate_existing=True)
    return row


# --- known browsers ----------------------------------------------------------------------------


def known_browser(user: User) -> str:
    """A cookie proving this browser signed in to this account (until its password changes)."""
    token = secrets.token_urlsafe(16)
    return f"{token}.{_mac(user, token)}"


def is_known_browser(user: User | None, cookie: str | None) -> bool:
    if user is None or not cookie or "." not in cookie:
        return False
    token, mac = cookie.rsplit(".", 1)
    return hmac.compare_digest(mac, _mac(user, token))


def _mac(user: User, token: str) -> str:
    message = f"{user.id}:{user.email}:{token}".encode()
    return hmac.new(user.password_hash.encode(), message, hashlib.sha256).hexdigest()
