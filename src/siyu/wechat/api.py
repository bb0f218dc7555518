"""`/wechat/callback`: the official account's URL check (GET) and pushed messages (POST).

Each push is verified, stored and answered "success" at once (WeChat waits 5 seconds and
retries); following and scanning are applied by a job (`wechat.callback`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.settings import get_settings
from siyu.wechat import callbacks, inbox
from siyu.wechat import jobs as _jobs  # noqa: F401  (registers the callback job)

router = APIRouter(prefix="/wechat", tags=["wechat"])


@router.get("/callback", response_class=PlainTextResponse)
def verify_url(signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    callbacks.verify(get_settings(), signature, timestamp, nonce)
    return echostr


@router.post("/callback", response_class=PlainTextResponse)
async def receive(
    request: Request,
    session: SessionDep,
    signature: str,
    timestamp: str,
    nonce: str,
    msg_signature: str | None = None,
) -> str:
    settings = get_settings()
    callbacks.verify(settings, signature, timestamp, nonce)
    xml = callbacks.open_message(settings, await request.body(), timestamp, nonce, msg_signature)
    inbox.accept(session, callbacks.read_event(xml), utcnow())
    return "success"
