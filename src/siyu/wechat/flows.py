"""Official-account use cases: a follow or a scan attributed to the channel code in its scene."""

from __future__ import annotations

import logging

from sqlalchemy.orm import Session

from siyu.codes.service import find_code, touchpoint_code
from siyu.core.db import utcnow
from siyu.events.service import record_told, told_at, told_message_id
from siyu.wechat.client import OfficialAccountClient, get_client
from siyu.wechat.models import OfficialAccountCallback
from siyu.wechat.service import note_callback

log = logging.getLogger("siyu.wechat")
SOURCE = "official-account"
# wechatpy's event names: a follow through a scene QR code is `subscribe_scan` (the
# `qrscene_` prefix removed from its key); a follower scanning one again is `scan`.
EVENTS = {
    "subscribe_scan": "Official Account Followed",
    "subscribe": "Official Account Followed",
    "scan": "QR Code Scanned",
    "unsubscribe": "Official Account Unfollowed",
}


def process(session: Session, callback_id: int, client: OfficialAccountClient | None = None):
    callback = session.get(OfficialAccountCallback, callback_id)
    if callback is None or callback.status == "done":
        return
    event = dict(callback.fields)
    note_callback(session, event, callback.received_at)
    name = EVENTS.get(event["kind"])
    callback.result = _record(session, event, name, client) if name else "not handled"
    callback.status, callback.processed_at = "done", utcnow()
    session.flush()


def _record(session: Session, event: dict, name: str, client) -> str:
    openid, scene = event["openid"], event.get("scene")
    code = find_code(session, scene) if scene else None
    touchpoint = touchpoint_code(session, code)
    properties = {"scene": scene} if scene else {}
    if touchpoint and code:
        properties |= {"touchpoint": touchpoint, "code": code.code}
    if name == "QR Code Scanned":
        properties["channel"] = "official_account"
    traits = {"wechat_openid": openid}
    if name == "Official Account Followed":
        traits |= _unionid(client, openid)
    key = told_message_id("wechat", event["kind"], openid, scene, event.get("create_time"))
    record_told(
        session,
        SOURCE,
        f"wechat:{openid}",
        traits,
        [
            {"type": "identify", "messageId": f"{key}-id", "traits": traits},
            {"type": "track", "event": name, "properties": properties, "messageId": key},
        ],
        told_at(event.get("create_time")),
    )
    return f"{name} at {touchpoint or 'no touchpoint'}"


def _unionid(client: OfficialAccountClient | None, openid: str) -> dict:
    """The follower's unionid (present when the account is bound to an open platform)."""
    try:
        info = (client or get_client()).user.get(openid)
    except Exception as error:  # not configured, not reachable, or WeChat refused
        log.info("follower %s not read: %s", openid, error)
        return {}
    return {"wechat_unionid": info["unionid"]} if info.get("unionid") else {}
