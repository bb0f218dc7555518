"""Identity types, normalisation, per-type limits and values that never identify anyone."""

from __future__ import annotations

import re

# Highest priority first: the customer an event belongs to is the one its strongest id names.
TYPES = (
    "user_id",
    "member_id",
    "wechat_unionid",
    "phone",
    "email",
    "wecom_external_userid",
    "wechat_openid",
    "anonymous_id",
)
PRIORITY = {kind: rank for rank, kind in enumerate(TYPES)}

# How many identities of a type one customer may hold; past it a new id is not attached.
LIMITS = {
    "user_id": 1,
    "member_id": 1,
    "wechat_unionid": 1,
    "phone": 3,
    "email": 5,
    "wecom_external_userid": 5,
    "wechat_openid": 10,
    "anonymous_id": 1000,
}

# Trait names (lower-case) that carry an identity, and the type they carry.
TRAIT_TYPES = {
    "phone": "phone",
    "mobile": "phone",
    "email": "email",
    "member_id": "member_id",
    "memberid": "member_id",
    "wechat_unionid": "wechat_unionid",
    "unionid": "wechat_unionid",
    "wechat_openid": "wechat_openid",
    "openid": "wechat_openid",
    "wecom_external_userid": "wecom_external_userid",
    "external_userid": "wecom_external_userid",
}

BLOCKED = {
    "",
    "null",
    "none",
    "nil",
    "undefined",
    "nan",
    "-1",
    "0",
    "anonymous",
    "unknown",
    "n/a",
    "na",
    "test",
    "[object object]",
    "guest",
}
_ZEROS = re.compile(r"^[0\-\s]+$")
_CN_MOBILE = re.compile(r"^1[3-9]\d{9}$")
_INTL = re.compile(r"^\+\d{7,15}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_blocked(value: str) -> bool:
    lowered = value.strip().lower()
    # Every tracked event asks this: the pattern runs only when the value could match it.
    return lowered in BLOCKED or (lowered[:1] in "0-" and bool(_ZEROS.match(lowered)))


def normalize_phone(raw: str) -> str | None:
    digits = re.sub(r"[\s\-()]", "", raw)
    for prefix in ("+86", "0086"):
        if digits.startswith(prefix):
            digits = digits[len(prefix) :]
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    if _CN_MOBILE.match(digits) or _INTL.match(digits):
        return digits
    return None


def normalize(kind: str, raw: object) -> str | None:
    """The canonical value of an identity, or None when it cannot identify anyone."""
    if raw is None or isinstance(raw, (dict, list, bool)):
        return None
    value = str(raw).strip()
    if not value or len(value) > 200 or is_blocked(value):
        return None
    if kind == "phone":
        return normalize_phone(value)
    if kind == "email":
        value = value.lower()
        return value if _EMAIL.match(value) else None
    return value


def from_traits(traits: dict) -> list[tuple[str, str]]:
    found = []
    for name, raw in traits.items():
        kind = TRAIT_TYPES.get(name.lower())
        if kind:
            value = normalize(kind, raw)
            if value:
                found.append((kind, value))
    return found
