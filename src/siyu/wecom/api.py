"""`/wecom/callback`: URL verification (GET) and encrypted callbacks (POST).

A callback is verified, stored and answered at once; WeCom retries one not answered within 5
seconds, so the work it asks for runs afterwards as a job (`wecom.callback`). One signed more
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
from siyu.wecom import callbacks, inbox

router = APIRouter(prefix="/wecom", tags=["wecom"])
CallbackBody = Annotated[bytes, raw_body(64 * 1024)]  # WeCom's callbacks are a few KB of XML


@router.get("/callback", response_class=PlainTextResponse)
def verify_url(msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    crypto = callbacks.crypto_for(get_settings())
    return callbacks.verify_url(crypto, msg_signature, timestamp, nonce, echostr)


@router.post("/callback", response_class=PlainTextResponse)
def receive(
    body: CallbackBody, session: SessionDep, msg_signature: str, timestamp: str, nonce: str
) -> str:
    crypto, now = callbacks.crypto_for(get_settings()), utcnow()
    xml = callbacks.decrypt(crypto, body, msg_signature, timestamp, nonce)
    refuse_replayed(session, "wecom", timestamp, nonce, now)
    inbox.accept(session, callbacks.read_fields(xml), now)
    return "success"
