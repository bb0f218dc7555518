"""FastAPI dependencies as named aliases: a route's signature says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Header
from sqlalchemy.orm import Session

from siyu.core.auth import ApiToken, token_for
from siyu.core.db import session_factory
from siyu.core.errors import SiyuError, Unauthorized

ROLE_RANK = {"guide": 0, "analyst": 1, "operator": 2, "admin": 3}


def _session() -> Iterator[Session]:
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(_session)]


def _current_token(session: SessionDep, authorization: str = Header("")) -> ApiToken:
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("a bearer token is required", field="Authorization")
    return token_for(session, authorization[7:].strip())


CurrentToken = Annotated[ApiToken, Depends(_current_token)]


class Forbidden(SiyuError):
    status = 403
    code = "forbidden"


def RequireRole(role: str):  # noqa: N802 - reads as a type in a signature
    def check(token: CurrentToken) -> ApiToken:
        if ROLE_RANK[token.role] < ROLE_RANK[role]:
            raise Forbidden(f"this needs the {role} role; the token has {token.role}")
        return token

    return Annotated[ApiToken, Depends(check)]
