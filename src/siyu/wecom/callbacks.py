"""WeCom callbacks: verify and decrypt (wechatpy's crypto), read the XML, name the natural key."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

import xmltodict
from wechatpy.enterprise.crypto import WeChatCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidSignatureException

from siyu.core.errors import InvalidInput, SiyuError, Unauthorized
from siyu.core.settings import Settings


class NotConfigured(SiyuError):
    status = 503
    code = "not_configured"


def crypto_for(settings: Settings) -> WeChatCrypto:
    if not (settings.wecom_token and settings.wecom_aes_key and settings.wecom_corp_id):
        raise NotConfigured(
            "set SIYU_WECOM_TOKEN, SIYU_WECOM_AES_KEY and SIYU_WECOM_CORP_ID", field="wecom"
        )
    return WeChatCrypto(settings.wecom_token, settings.wecom_aes_key, settings.wecom_corp_id)


def verify_url(crypto: WeChatCrypto, signature: str, timestamp: str, nonce: str, echo: str) -> str:
    """The plain echo string WeCom expects back when it checks the callback URL."""
    try:
        return crypto.check_signature(signature, timestamp, nonce, echo)
    except (InvalidSignatureException, InvalidCorpIdException):
        raise Unauthorized("the signature does not match", field="msg_signature") from None


def decrypt(crypto: WeChatCrypto, body: bytes, signature: str, timestamp: str, nonce: str) -> str:
    """The callback's plain XML; a wrong signature or another corp's message is refused."""
    try:
        return crypto.decrypt_message(body, signature, timestamp, nonce)
    except (InvalidSignatureException, InvalidCorpIdException):
        raise Unauthorized("the signature does not match", field="msg_signature") from None
    except Exception:  # xmltodict or base64 errors on a body that is not WeCom's envelope
        raise InvalidInput("the body is not an encrypted WeCom message", field="body") from None


def read_fields(xml: str) -> dict[str, object]:
    """The callback's fields by their WeCom names, as strings (nested ones as dicts)."""
    try:
        fields = xmltodict.parse(xml)["xml"]
    except Exception:
        raise InvalidInput("the message is not WeCom's XML", field="body") from None
    return dict(fields or {})


# The fields that name one event apart from its time, per change type. CreateTime is only ever
# one part: two customers adding one guide in the same second differ by ExternalUserID.
NATURAL_FIELDS: Mapping[str, tuple[str, ...]] = {
    "add_external_contact": ("UserID", "ExternalUserID", "State", "WelcomeCode", "CreateTime"),
    "add_half_external_contact": ("UserID", "ExternalUserID", "State", "CreateTime"),
    "edit_external_contact": ("UserID", "ExternalUserID", "CreateTime"),
    "del_external_contact": ("UserID", "ExternalUserID", "Source", "CreateTime"),
    "del_follow_user": ("UserID", "ExternalUserID", "CreateTime"),
    "transfer_fail": ("UserID", "ExternalUserID", "FailReason", "CreateTime"),
}
CHAT_FIELDS = ("ChatId", "UpdateDetail", "MemChangeCnt", "CurMemVer", "LastMemVer", "CreateTime")
TAG_FIELDS = ("Id", "TagType", "StrategyId", "CreateTime")


def natural_key(fields: Mapping[str, object]) -> str:
    """change type + the ids the event is about (+ its time as one part among them)."""
    event = str(fields.get("Event") or fields.get("MsgType") or "")
    change = str(fields.get("ChangeType") or "")
    if event == "change_external_contact" and change in NATURAL_FIELDS:
        names = NATURAL_FIELDS[change]
    elif event == "change_external_chat":
        names = CHAT_FIELDS
    elif event == "change_external_tag":
        names = TAG_FIELDS
    else:
        return f"{event}:{change}:sha256:{_digest(fields)}"
    parts = [event, change, *(str(fields.get(name) or "") for name in names)]
    key = ":".join(parts)
    return key if len(key) <= 400 else f"{event}:{change}:sha256:{_digest(fields)}"


def _digest(fields: Mapping[str, object]) -> str:
    stable = repr(sorted((k, repr(v)) for k, v in fields.items()))
    return hashlib.sha256(stable.encode()).hexdigest()
