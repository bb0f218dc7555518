"""Who is on a customer page (H5): a signed, HttpOnly cookie naming the customer, got inside
WeChat by web authorisation (网页授权, snsapi_base: the openid, and the unionid where the
platform gives it) or elsewhere by a 6-digit code sent to the phone by SMS.

Nothing here trusts the browser: the cookie and the authorisation's `state` are HMAC-signed
with this database's secret and carry their own expiry; a code is kept only as its hash, lives
five minutes, allows five tries, and is sent at most once a minute per phone and per address."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from wechatpy.oauth import WeChatOAuth

from siyu.core import meta
from siyu.core.db import utcnow
from siyu.core.errors import InvalidInput, NotFound, SiyuError, Unauthorized
from siyu.core.i18n import N_
from siyu.core.settings import Settings, get_settings
from siyu.customers import identity as ids
from siyu.customers.models import Customer
from siyu.customers.resolver import Resolver
from siyu.messaging.channels.sms import SmsMessage, SmsSender, sender_for
from siyu.messaging.models import Channel
from siyu.promotions.h5_models import H5PhoneCode

log = logging.getLogger("siyu.promotions.h5")
COOKIE = "siyu_h5"  # not the console's siyu_session: a customer is never a console user
SESSION_DAYS = 30
STATE_SECONDS = 600  # an authorisation left longer than this starts again
CODE_MINUTES = 5
CODE_ATTEMPTS = 5
RESEND_SECONDS = 60
HOURLY_CODES = 10  # per phone and per address
SECRET_KEY = "promotions.h5_secret"


class TooMany(SiyuError):
    status = 429
    code = "too_many"


class NotSetUp(SiyuError):
    """A sign-in way the brand has not configured: the page says so, the log says what to set."""

    status = 409  # the brand's setup, not the customer's input, and no server fault either
    code = "not_set_up"


# --- signing -------------------------------------------------------------------------------------


def secret(session: Session) -> bytes:
    """SIYU_LINK_SECRET, else a key made once for this database and kept in it."""
    settings = get_settings()
    if settings.link_secret:
        return ("h5:" + settings.link_secret).encode()
    kept = meta.read(session, SECRET_KEY)
    if kept is None:
        kept = {"secret": secrets.token_hex(32)}
        meta.write(session, SECRET_KEY, kept)
    return str(kept["secret"]).encode()


def sign(key: bytes, purpose: str, value: str, until: int) -> str:
    body = f"{purpose}.{value}.{until}"
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]
    return f"{value}.{until}.{mac}"


def unsign(key: bytes, purpose: str, token: str) -> str | None:
    """The value a token signed for `purpose` carries, or None if forged or expired."""
    value, _, rest = token.partition(".")
    until, _, mac = rest.partition(".")
    if not until.isdigit() or int(until) < time.time():
        return None
    expected = sign(key, purpose, value, int(until)).rpartition(".")[2]
    return value if hmac.compare_digest(mac, expected) else None


def session_cookie(session: Session, customer_id: int) -> str:
    until = int(time.time()) + SESSION_DAYS * 86400
    return sign(secret(session), "session", str(customer_id), until)


def signed_in(session: Session, cookie: str | None) -> Customer | None:
    """The customer the cookie names, if it is genuine and current."""
    value = unsign(secret(session), "session", cookie or "")
    if value is None or not value.isdigit():
        return None
    customer = session.get(Customer, int(value))
    if customer is not None and customer.merged_into_id is not None:
        customer = session.get(Customer, customer.merged_into_id)
    return customer


def resolve(session: Session, keys: list[tuple[str, str]]) -> Customer:
    resolver = Resolver(session, actor="customer")
    customer = resolver.resolve(keys)
    resolver.flush()
    return customer


# --- WeChat web authorisation --------------------------------------------------------------------


class OAuth(WeChatOAuth):
    """wechatpy's web authorisation pointed at the configured hosts, with a timeout."""

    def __init__(self, settings: Settings, redirect_uri: str, state: str = ""):
        super().__init__(settings.wechat_app_id, settings.wechat_secret, redirect_uri, state=state)
        api = settings.wechat_api_base.rstrip("/").removesuffix("/cgi-bin")
        self.API_BASE_URL = api + "/"
        self.OAUTH_BASE_URL = settings.wechat_oauth_base.rstrip("/") + "/"

    def _request(self, method: str, url_or_endpoint: str, **kwargs: object) -> dict:
        return super()._request(method, url_or_endpoint, timeout=10, **kwargs)


def has_wechat(settings: Settings) -> bool:
    return bool(settings.wechat_app_id and settings.wechat_secret)


def authorize_url(session: Session, callback: str, back_to: str) -> str:
    """Where to send a phone inside WeChat: the platform asks nothing for snsapi_base and comes
    back to `callback` with a code and our signed state (which names the page to return to)."""
    settings = get_settings()
    if not has_wechat(settings):
        raise not_set_up("SIYU_WECHAT_APP_ID and SIYU_WECHAT_SECRET", "wechat")
    state = sign(secret(session), "state", back_to.encode().hex(), int(time.time()) + STATE_SECONDS)
    return str(OAuth(settings, callback, state).authorize_url)


def wechat_customer(session: Session, code: str, state: str) -> tuple[Customer, str]:
    """The customer WeChat's code names (created if new) and the page to return to."""
    page = unsign(secret(session), "state", state)
    if page is None:
        raise Unauthorized(N_("the sign-in link has expired; open the page again"), field="state")
    if not code or len(code) > 128:
        raise InvalidInput(N_("WeChat sent no code"), field="code")
    settings = get_settings()
    if not has_wechat(settings):
        raise not_set_up("SIYU_WECHAT_APP_ID and SIYU_WECHAT_SECRET", "wechat")
    try:
        answer = OAuth(settings, "").fetch_access_token(code)
    except Exception as problem:  # WeChat's refusal (40029 …) or the network
        log.warning("WeChat web authorisation refused a code: %s", problem)
        raise Unauthorized(
            N_("WeChat did not confirm who you are; try again"), field="code"
        ) from None
    keys = [("wechat_openid", ids.normalize("wechat_openid", answer.get("openid")))]
    if answer.get("unionid"):
        keys.append(("wechat_unionid", ids.normalize("wechat_unionid", answer["unionid"])))
    valid = [(kind, value) for kind, value in keys if value]
    if not valid or valid[0][0] != "wechat_openid":
        raise Unauthorized(N_("WeChat did not confirm who you are; try again"), field="code")
    return resolve(session, valid), bytes.fromhex(page).decode()


# --- phone and SMS code --------------------------------------------------------------------------


def phone_of(raw: str) -> str:
    phone = ids.normalize_phone(raw.strip()[:32])
    if phone is None:
        raise InvalidInput(N_("enter a mobile phone number"), field="phone")
    return phone


def _hash(phone: str, code: str, key: bytes) -> str:
    return hmac.new(key, f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(session: Session, raw_phone: str, client: str, now: datetime | None = None) -> str:
    """Send a new code to the phone (one a minute, ten an hour, per phone and per address);
    returns the phone in its normal form."""
    now = now or utcnow()
    phone, client = phone_of(raw_phone), client[:64]
    _check_rate(session, phone, client, now)
    settings = get_settings()
    message_sender, sign_name = _sms(session, settings)
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = H5PhoneCode(
        phone=phone,
        client=client,
        code_hash=_hash(phone, code, secret(session)),
        created_at=now,
        expires_at=now + timedelta(minutes=CODE_MINUTES),
    )
    session.add(row)
    session.flush()
    message = SmsMessage(
        f"h5-code-{row.id}", phone, sign_name, settings.sms_code_template, {"code": code}
    )
    result = message_sender.provider.send(message)
    if result.error is not None:
        log.warning("the SMS provider refused a sign-in code: %s", result.error)
        raise SiyuError(N_("the code could not be sent; try again later"), field="phone")
    return phone


def _check_rate(session: Session, phone: str, client: str, now: datetime) -> None:
    mine = or_(H5PhoneCode.phone == phone, H5PhoneCode.client == client)
    hour = session.execute(
        select(func.count(), func.max(H5PhoneCode.created_at)).where(
            mine, H5PhoneCode.created_at > now - timedelta(hours=1)
        )
    ).one()
    count, latest = hour
    if latest is not None and latest > now - timedelta(seconds=RESEND_SECONDS):
        raise TooMany(N_("a code was sent just now; wait a minute to ask again"), field="phone")
    if count >= HOURLY_CODES:
        raise TooMany(N_("too many codes asked for; try again in an hour"), field="phone")


def _sms(session: Session, settings: Settings) -> tuple[SmsSender, str]:
    row = session.scalar(select(Channel).where(Channel.channel == "sms"))
    try:
        sender = sender_for(settings, row)
    except ValueError as missing:
        raise not_set_up(str(missing), "phone") from None
    config = (row.config if row is not None else None) or {}
    sign_name = str(config.get("sign_name") or settings.sms_sign_name)
    if not settings.sms_code_template:
        raise not_set_up("SIYU_SMS_CODE_TEMPLATE", "phone")
    if not sign_name:
        raise not_set_up("SIYU_SMS_SIGN_NAME (or the sms channel's sign name)", "phone")
    return sender, sign_name


def has_sms(session: Session) -> bool:
    try:
        _sms(session, get_settings())
    except NotSetUp:
        return False
    return True


def check_code(
    session: Session, raw_phone: str, code: str, now: datetime | None = None
) -> Customer:
    """The customer the phone names (created if new), once its latest code is given right."""
    now = now or utcnow()
    phone, code = phone_of(raw_phone), code.strip()
    if not (len(code) == 6 and code.isdigit()):
        raise InvalidInput(N_("the code is 6 digits"), field="code")
    row = session.scalar(
        select(H5PhoneCode)
        .where(H5PhoneCode.phone == phone)
        .order_by(H5PhoneCode.created_at.desc(), H5PhoneCode.id.desc())
        .limit(1)
    )
    if row is None or row.used_at is not None:
        raise NotFound(N_("ask for a code first"), field="code")
    if row.expires_at <= now or row.attempts >= CODE_ATTEMPTS:
        raise Unauthorized(N_("the code has expired; ask for a new one"), field="code")
    row.attempts += 1
    if not hmac.compare_digest(row.code_hash, _hash(phone, code, secret(session))):
        session.flush()
        raise Unauthorized(N_("the code is not right"), field="code")
    row.used_at = now
    return resolve(session, [("phone", phone)])


def not_set_up(setting: str, field: str) -> NotSetUp:
    log.warning("a customer page cannot sign customers in by %s: set %s", field, setting)
    return NotSetUp(N_("this way of signing in is not available yet"), field=field)
