"""Official-account callbacks: verify (plain or safe mode), decrypt, parse with wechatpy.

With an EncodingAESKey set the account is in safe mode (安全模式) and only encrypted pushes
carrying msg_signature are taken; the plain signature alone covers the query, not the body.
"""

from __future__ import annotations

from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.exceptions import InvalidAppIdException, InvalidSignatureException
from wechatpy.utils import check_signature

from siyu.core.errors import InvalidInput, SiyuError, Unauthorized
from siyu.core.settings import Settings


class NotConfigured(SiyuError):
    status = 503
    code = "not_configured"


def _token(settings: Settings) -> str:
    if not settings.wechat_token:
        raise NotConfigured("set SIYU_WECHAT_TOKEN (and SIYU_WECHAT_APP_ID)", field="wechat")
    return settings.wechat_token


def verify(settings: Settings, signature: str, timestamp: str, nonce: str) -> None:
    """The plain-mode signature every request carries; raises when it does not match."""
    try:
        check_signature(_token(settings), signature, timestamp, nonce)
    except InvalidSignatureException:
        raise Unauthorized("the signature does not match", field="signature") from None


def open_message(
    settings: Settings, body: bytes, timestamp: str, nonce: str, msg_signature: str | None
) -> str:
    """The plain XML: decrypted and checked against msg_signature when SIYU_WECHAT_AES_KEY is
    set (safe mode, compatible mode's plain copy ignored), the body as sent otherwise."""
    if settings.wechat_aes_key and not msg_signature:
        raise Unauthorized(
            "the account is in safe mode: a push must be encrypted and carry msg_signature",
            field="msg_signature",
        )
    if not msg_signature:
        return _text(body)
    if not (settings.wechat_aes_key and settings.wechat_app_id):
        raise NotConfigured("set SIYU_WECHAT_AES_KEY and SIYU_WECHAT_APP_ID", field="wechat")
    crypto = WeChatCrypto(_token(settings), settings.wechat_aes_key, settings.wechat_app_id)
    try:
        return crypto.decrypt_message(body, msg_signature, timestamp, nonce)
    except (InvalidSignatureException, InvalidAppIdException):
        raise Unauthorized("the signature does not match", field="msg_signature") from None
    except Exception:
        raise InvalidInput("the body is not an encrypted WeChat message", field="body") from None


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("the body is not UTF-8 text", field="body") from None


def read_event(xml: str) -> dict:
    """What Siyu keeps of a message: its kind (wechatpy's name), who, the scene, the time."""
    try:
        message = parse_message(xml)
    except Exception:
        raise InvalidInput("the message is not WeChat's XML", field="body") from None
    kind = getattr(message, "event", None) or message.type
    return {
        "kind": kind,
        "openid": message.source,
        "scene": getattr(message, "scene_id", None) or None,
        "create_time": message._data.get("CreateTime"),
        "msg_id": message._data.get("MsgId"),
    }


def natural_key(event: dict) -> str:
    """openid + kind + scene + CreateTime (one person cannot follow twice in a second), or the
    MsgId of a message."""
    if event.get("msg_id"):
        return f"msg:{event['msg_id']}"
    parts = (event["kind"], event["openid"], event.get("scene") or "", event.get("create_time"))
    return ":".join(str(p or "") for p in parts)
