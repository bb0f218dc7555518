"""`/wechat/callback`: the official account's URL check (GET) and pushed messages (POST).

Each push is verified, stored and answered "success" at once (WeChat waits 5 seconds and
retries); following and scanning are applied by a job (`wechat.callback`). A push signed more
than SIYU_CALLBACK_WINDOW_SECONDS from now, or with a nonce taken before, is refused.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from siyu.core.db import utcnow
from siyu.core.deps import SessionDep, raw_body
from siyu.core.replay import refuse_replayed
from siyu.core.settings import get_settings
from siyu.wechat import callbacks, inbox

router = APIRouter(prefix="/wechat", tags=["wechat"])
PushBody = Annotated[bytes, raw_body(64 * 1024)]  # WeChat's pushes are a few KB of XML


@router.get("/callback", response_class=PlainTextResponse)
def verify_url(signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    callbacks.verify(get_settings(), signature, timestamp, nonce)
    return echostr


@router.post("/callback", response_class=PlainTextResponse)
def receive(
    body: PushBody,
    session: SessionDep,
    signature: str,
    timestamp: str,
    nonce: str,
    msg_signature: str | None = None,
) -> str:
    settings, now = get_settings(), utcnow()
    callbacks.verify(settings, signature, timestamp, nonce)
    xml = callbacks.open_message(settings, body, timestamp, nonce, msg_signature)
    refuse_replayed(session, "wechat", timestamp, nonce, now)
    inbox.accept(session, callbacks.read_event(xml), now)
    return "success"
