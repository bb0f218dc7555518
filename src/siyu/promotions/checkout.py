"""What every write of the mall's checkout API shares: a token that may check out, the
`Idempotency-Key` header, and one short write transaction (SQLite's writers take turns in it)."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Annotated

from fastapi import Depends, Header, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from siyu.core import idempotency
from siyu.core.auth import ApiToken
from siyu.core.db import unit_of_work, write_lock
from siyu.core.deps import CurrentToken, SessionDep, read_ended, token_allowed
from siyu.core.errors import Forbidden
from siyu.core.limits import Text64
from siyu.core.permissions import can
from siyu.promotions.activities import MAX_FEN, MAX_ORDER_ID

# The token's read ends before the write: the write is a short transaction of its own.
Checkout = Annotated[ApiToken, read_ended(token_allowed("promotions.checkout"))]


def _looker(token: CurrentToken, session: SessionDep) -> ApiToken:
    """The mall at checkout, or a token that reads promotions."""
    if not (can(token.role, "promotions.view") or can(token.role, "promotions.checkout")):
        raise Forbidden(f"a token with the {token.role} role cannot do this")
    session.info["actor"] = f"token:{token.name}"
    return token


# The mall, or the brand's readers: what a sale has left, a customer's coupons.
Looker = Annotated[ApiToken, Depends(_looker)]
# What the mall's bodies name: a customer (id or any identity) and its order.
CustomerRef = Annotated[
    int | Text64, Field(description="A customer id, or any identity value (phone, user id …).")
]
OrderId = Annotated[str, Field(min_length=1, max_length=MAX_ORDER_ID)]
# Yuan in a body: two decimals, within what a price column holds.
Yuan = Annotated[Decimal, Field(ge=0, le=Decimal(MAX_FEN) / 100, decimal_places=2)]


def fen(amount: Decimal | None) -> int | None:
    return None if amount is None else int(amount * 100)


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
