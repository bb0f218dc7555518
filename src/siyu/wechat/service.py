"""Scene QR codes (带参数二维码) for channel codes: the scene string is the code."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.codes.service import find_code
from siyu.core.errors import NotFound
from siyu.wechat.client import OfficialAccountClient, get_client
from siyu.wechat.models import Follower, SceneQrCode

SHOW_QR = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="
# WeChat lets an account answer with customer-service messages for 48 hours after a follower's
# message, follow, scan or click of a push menu; an unfollow closes it.
SERVICE_WINDOW = timedelta(hours=48)
INTERACTIONS = frozenset(
    {"text", "image", "voice", "video", "shortvideo", "location", "link"}
    | {"subscribe", "subscribe_scan", "scan", "click", "scancode_push", "scancode_waitmsg"}
)


def create_scene_qr(
    session: Session, code: str, client: OfficialAccountClient | None = None
) -> SceneQrCode:
    """A permanent QR code whose follows and scans name this channel code; made once per code.
    The code's target becomes the QR's URL when it is an official-account code without one."""
    channel = find_code(session, code)
    if channel is None:
        raise NotFound(f"no channel code {code!r}", field="code")
    existing = session.scalar(select(SceneQrCode).where(SceneQrCode.code == code))
    if existing is not None:
        return existing
    answer = (client or get_client()).qrcode.create(
        {"action_name": "QR_LIMIT_STR_SCENE", "action_info": {"scene": {"scene_str": code}}}
    )
    qr = SceneQrCode(code=code, ticket=answer["ticket"], url=answer["url"])
    session.add(qr)
    if channel.target_kind == "official_account_qr" and not channel.target:
        channel.target = answer["url"]
    session.flush()
    return qr


def image_url(qr: SceneQrCode) -> str:
    """Where WeChat serves the QR image for a ticket."""
    return SHOW_QR + quote(qr.ticket)


def note_callback(session: Session, event: dict, received_at: datetime) -> None:
    """Keep the follower's state from one callback: an unfollow, or an interaction at its
    CreateTime (the latest one wins, so callbacks processed out of order keep the newest)."""
    kind, openid = event.get("kind"), event.get("openid")
    if not openid or (kind != "unsubscribe" and kind not in INTERACTIONS):
        return
    follower = session.get(Follower, openid)
    if follower is None:
        follower = Follower(openid=openid, following=True)
        session.add(follower)
    at = _created(event, received_at)
    if kind == "unsubscribe":
        follower.following = False
    else:
        if kind in ("subscribe", "subscribe_scan"):
            follower.following = True
        if follower.last_interaction_at is None or at > follower.last_interaction_at:
            follower.last_interaction_at = at
    follower.changed_at = received_at
    session.flush()


def _created(event: dict, received_at: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(event["create_time"]), UTC)
    except (KeyError, TypeError, ValueError):
        return received_at


def last_interactions(session: Session, openids: Collection[str]) -> dict[str, datetime | None]:
    """Each known follower's last interaction, None for one who unfollowed since."""
    rows = session.execute(
        select(Follower.openid, Follower.following, Follower.last_interaction_at).where(
            Follower.openid.in_(list(openids))
        )
    ).all()
    return {openid: at if following else None for openid, following, at in rows}
