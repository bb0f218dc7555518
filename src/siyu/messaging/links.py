"""Tracked short links (`/l/{code}`) and unsubscribe links (`/u/{token}`) in messages.

A code signs a delivery's id and the link's index in its content (HMAC-SHA256 with
SIYU_LINK_SECRET, else a secret made once and kept in the database): no row per link, and a code
no one signed is a 404. A click redirects to the content's link and records `Message Clicked`
once per delivery and link, with the delivery's origin and variant, so reports count the message
as a touch. An unsubscribe token names a delivery: its customer, on its channel.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from siyu.core import meta
from siyu.core.db import utcnow
from siyu.core.errors import NotFound
from siyu.core.settings import get_settings
from siyu.customers.models import Customer
from siyu.events import service as events
from siyu.events.sources import internal_source
from siyu.messaging import service
from siyu.messaging.models import Delivery, MessageContent

SECRET_KEY = "messaging.link_secret"
SIGNATURE_BYTES = 9  # 72 bits: enough that guessing one is hopeless
SIGNATURE_CHARS = 12  # the 9 bytes in base64url
MAX_LINKS = 50
LOCAL = "http://127.0.0.1:8000"  # `siyu serve`'s own address, when SIYU_PUBLIC_URL is not set
_secrets: dict[str, bytes] = {}


def secret(session: Session) -> bytes:
    """The key links are signed with: SIYU_LINK_SECRET, else one made once for this database
    (in the caller's transaction: it is kept in memory only once it was read back committed,
    so a rolled-back one is never used to sign what another process cannot check)."""
    found = _known_secret(session)
    if found is not None:
        return found
    made = secrets.token_hex(32)
    meta.write(session, SECRET_KEY, {"secret": made})
    session.info[SECRET_KEY] = made  # not committed yet: not kept in memory
    return made.encode()


def _known_secret(session: Session) -> bytes | None:
    settings = get_settings()
    if settings.link_secret:
        return settings.link_secret.encode()
    cached = _secrets.get(settings.database_url)
    if cached is None:
        kept = meta.read(session, SECRET_KEY)
        if kept is None:
            return None
        if kept["secret"] == session.info.get(SECRET_KEY):
            return str(kept["secret"]).encode()
        cached = _secrets[settings.database_url] = str(kept["secret"]).encode()
    return cached


def _checking_key(session: Session) -> bytes:
    """The key to check a code with; no key yet means no link was ever signed."""
    key = _known_secret(session)
    if key is None:
        raise NotFound("no such link", field="code")
    return key


def _b36(number: int) -> str:
    digits, out = "0123456789abcdefghijklmnopqrstuvwxyz", ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _sign(key: bytes, text: str) -> str:
    digest = hmac.new(key, text.encode(), hashlib.sha256).digest()[:SIGNATURE_BYTES]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def link_code(key: bytes, delivery_id: int, index: int) -> str:
    body = f"{_b36(delivery_id)}-{_b36(index)}"
    return f"{body}-{_sign(key, 'l:' + body)}"


def unsubscribe_token(key: bytes, delivery_id: int) -> str:
    body = _b36(delivery_id)
    return f"{body}-{_sign(key, 'u:' + body)}"


def _verified(key: bytes, code: str, kind: str, parts: int) -> list[int]:
    """The numbers a code carries, if its signature holds; NotFound otherwise. The signature is
    the last SIGNATURE_CHARS characters (base64url, which may itself hold a '-')."""
    body, dash, signature = (
        code[: -SIGNATURE_CHARS - 1],
        code[-SIGNATURE_CHARS - 1 : -SIGNATURE_CHARS],
        code[-SIGNATURE_CHARS:],
    )
    pieces = body.split("-")
    if len(code) > 80 or dash != "-" or len(pieces) != parts:
        raise NotFound("no such link", field="code")
    if not hmac.compare_digest(_sign(key, f"{kind}:{body}").encode(), signature.encode()):
        raise NotFound("no such link", field="code")
    try:
        return [int(piece, 36) for piece in pieces]
    except ValueError:
        raise NotFound("no such link", field="code") from None


def base_url() -> str:
    """Where customers reach Siyu (SIYU_PUBLIC_URL); links start with it."""
    return get_settings().public_base(LOCAL)


def tracked_links(key: bytes, delivery_id: int, count: int) -> list[str]:
    base = base_url()
    return [f"{base}/l/{link_code(key, delivery_id, i)}" for i in range(min(count, MAX_LINKS))]


def unsubscribe_url(key: bytes, delivery_id: int) -> str:
    return f"{base_url()}/u/{unsubscribe_token(key, delivery_id)}"


def targets(session: Session, delivery: Delivery) -> list[str]:
    """The addresses a delivery's tracked links lead to, in order."""
    links = (delivery.content or {}).get("links")
    if links is None and delivery.content_id is not None:
        content = session.get(MessageContent, delivery.content_id)
        links = (content.extras or {}).get("links") if content else None
    return [str(link) for link in links or [] if _is_web(str(link))]


def _is_web(url: str) -> bool:
    return url.startswith(("https://", "http://"))


@dataclass(frozen=True)
class Click:
    target: str
    delivery_id: int
    first: bool  # the first click of this link in this message


def follow(session: Session, code: str, at: datetime | None = None) -> Click:
    """Where a tracked link leads, recording the click (once per delivery and link); NotFound
    for a code no one signed or a link that is not there. The caller commits."""
    delivery_id, index = _verified(_checking_key(session), code, "l", 2)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("no such link", field="code")
    links = targets(session, delivery)
    if index >= len(links):
        raise NotFound("no such link", field="code")
    at = at or utcnow()
    first = _record_click(session, delivery, index, links[index], at)
    return Click(links[index], delivery.id, first)


def _record_click(
    session: Session, delivery: Delivery, index: int, target: str, at: datetime
) -> bool:
    message_id = f"msg-clicked-{delivery.id}-{index}"
    source = internal_source(session, service.SOURCE)
    if events.seen_message_ids(session.connection(), source.id, [message_id]):
        return False
    row = service.message_event(delivery, "Message Clicked", at, {"url": target, "link": index})
    row["message_id"] = message_id
    try:
        with session.begin_nested():
            events.record(session, service.SOURCE, [row])
    except IntegrityError:  # the same click a moment ago, from another request
        return False
    if delivery.clicked_at is None:
        delivery.clicked_at = at
    customer = session.get(Customer, delivery.customer_id)
    if customer is not None and (customer.last_seen_at is None or customer.last_seen_at < at):
        customer.last_seen_at = at  # a click is the customer's own act
    return True


def unsubscribe(session: Session, token: str, method: str = "one_click") -> Delivery:
    """Unsubscribe the customer a delivery went to, on its channel; the caller commits."""
    (delivery_id,) = _verified(_checking_key(session), token, "u", 1)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("no such link", field="token")
    service.set_consent(
        session,
        delivery.customer_id,
        delivery.channel,
        "unsubscribed",
        method=method,
        source=f"unsubscribe link in message {delivery.id}",
        actor="customer",
    )
    return delivery


def check_token(session: Session, token: str) -> Delivery:
    """The delivery an unsubscribe token names (for its confirm page); NotFound otherwise."""
    (delivery_id,) = _verified(_checking_key(session), token, "u", 1)
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        raise NotFound("no such link", field="token")
    return delivery
