"""FastAPI dependencies as named aliases: a route's signature says what it needs."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any

from fastapi import Depends, Header, Request
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from siyu.core.auth import ApiToken, token_for
from siyu.core.db import session_factory
from siyu.core.errors import Forbidden, TooLarge, Unauthorized
from siyu.core.permissions import can


def _session() -> Iterator[Session]:
    """The request's one transaction: committed after the endpoint returns, before the answer is
    sent; rolled back on any error (docs/architecture.md, Commits)."""
    session = session_factory()()
    try:
        yield session
        session.commit()
    except BaseException:
        # Keep loaded objects (the signed-in user) usable by the error page after the rollback.
        session.expunge_all()
        session.rollback()
        raise
    finally:
        session.close()


# scope="function": commit before the response is sent, so a browser that follows a redirect
# never arrives before the change it made is visible.
SessionDep = Annotated[Session, Depends(_session, scope="function")]


def _current_token(session: SessionDep, authorization: str = Header("")) -> ApiToken:
    if not authorization.lower().startswith("bearer "):
        raise Unauthorized("a bearer token is required", field="Authorization")
    return token_for(session, authorization[7:].strip())


CurrentToken = Annotated[ApiToken, Depends(_current_token)]


def token_allowed(permission: str) -> Any:
    """A bearer token whose role holds `permission`; its changes are audited under its name."""

    def check(token: CurrentToken, session: SessionDep) -> ApiToken:
        if not can(token.role, permission):
            raise Forbidden(f"a token with the {token.role} role cannot do this")
        session.info["actor"] = f"token:{token.name}"
        return token

    return Depends(check)


def read_ended(permission_check: Any) -> Any:
    """A permission check (`allowed(...)`, `token_allowed(...)`) after which the request's read
    ends (nothing was written): for an async route that waits on the lake next, so that it holds
    no database connection meanwhile."""

    def check(session: SessionDep, value: Any = permission_check) -> Any:
        session.commit()
        return value

    return Depends(check)


def raw_body(max_bytes: int) -> Any:
    """The request's bytes, read as they arrive and refused (413) past `max_bytes`, so a route
    that needs the raw body can still be a plain `def` run off the event loop."""

    async def read(request: Request) -> bytes:
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise TooLarge(f"the body is larger than {max_bytes} bytes", field="body")
        body = bytearray()
        async for chunk in request.stream():
            body += chunk
            if len(body) > max_bytes:
                raise TooLarge(f"the body is larger than {max_bytes} bytes", field="body")
        return bytes(body)

    return Depends(read)


async def _form(request: Request) -> FormData:
    return await request.form()


# The posted form, read on the event loop (reading is waiting, not work), so that the route that
# takes it can be a plain `def` and do its database work in the thread pool.
FormDep = Annotated[FormData, Depends(_form)]
