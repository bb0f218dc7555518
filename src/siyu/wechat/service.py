"""Scene QR codes (带参数二维码) for channel codes: the scene string is the code."""

from __future__ import annotations

from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.codes.service import find_code
from siyu.core.errors import NotFound
from siyu.wechat.client import OfficialAccountClient, get_client
from siyu.wechat.models import SceneQrCode

SHOW_QR = "https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket="


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
