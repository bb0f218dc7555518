"""`/wecom/callback`: URL verification (GET) and encrypted callbacks (POST).

A callback is verified, stored and answered at once; WeCom retries one not answered within 5
seconds, so the work it asks for runs afterwards as a job (`wecom.callback`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse

from siyu.core.db import utcnow
from siyu.core.deps import SessionDep
from siyu.core.settings import get_settings
from siyu.wecom import callbacks, inbox
from siyu.wecom import jobs as _jobs  # noqa: F401  (registers the callback job)

router = APIRouter(prefix="/wecom", tags=["wecom"])


@router.get("/callback", response_class=PlainTextResponse)
def verify_url(msg_signature: str, timestamp: str, nonce: str, echostr: str) -> str:
    crypto = callbacks.crypto_for(get_settings())
    return callbacks.verify_url(crypto, msg_signature, timestamp, nonce, echostr)


@router.post("/callback", response_class=PlainTextResponse)
async def receive(
    request: Request, session: SessionDep, msg_signature: str, timestamp: str, nonce: str
) -> str:
    crypto = callbacks.crypto_for(get_settings())
    xml = callbacks.decrypt(crypto, await request.body(), msg_signature, timestamp, nonce)
    inbox.accept(session, callbacks.read_fields(xml), utcnow())
    return "success"
