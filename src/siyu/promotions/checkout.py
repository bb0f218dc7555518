"""What every write of the mall's checkout API shares: a token that may check out, the
`Idempotency-Key` header, and one short write transaction (SQLite's writers take turns in it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.core import idempotency
from siyu.core.auth import ApiToken
from siyu.core.db import unit_of_work, write_lock
from siyu.core.deps import read_ended, token_allowed

# The token's read ends before the write: the write is a short transaction of its own.
Checkout = Annotated[ApiToken, read_ended(token_allowed("promotions.checkout"))]
Reader = Annotated[ApiToken, token_allowed("promotions.view")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=idempotency.HEADER,
        description="Any 1-255 visible ASCII characters, new for each write: a retry with the "
        "same key gets the first answer and changes nothing.",
    ),
]


def answered(
    token: ApiToken,
    key: str | None,
    request: Request,
    payload: BaseModel | None,
    act: Callable[[Session], idempotency.Answer],
) -> JSONResponse:
    """`act`'s answer (status, JSON body), made once per idempotency key in a unit of work of
    its own. A domain error it raises is the answer too (rolled back, then stored under the
    key)."""
    key = idempotency.checked_key(key)
    body = payload.model_dump_json().encode() if payload is not None else b""
    request_print = idempotency.fingerprint(request.method, request.url.path, body)
    with write_lock(), unit_of_work() as session:
        status, answer = idempotency.answer_once(
            session, token.id, key, request_print, lambda: act(session)
        )
    headers = {"Idempotent-Replayed": "true"} if answer.pop(idempotency.REPLAYED, False) else None
    return JSONResponse(answer, status_code=status, headers=headers)
