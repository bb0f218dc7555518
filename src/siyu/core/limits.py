"""Bounds every surface shares, so that no value a client sends overflows a column, a date or a
loop: what is out of bounds is a 4xx naming the field, never a 500."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated
from urllib.parse import unquote_to_bytes

from annotated_types import Ge, Le
from pydantic import AfterValidator, StringConstraints
from sqlalchemy.exc import DataError
from starlette.types import ASGIApp, Receive, Scope, Send

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_

# A BIGINT on PostgreSQL and SQLite's INTEGER: an id past it cannot name a row.
MAX_ROW_ID = 2**63 - 1
# The days a report, a due date or a segment's moment may name: the brand's calendar, with room
# on both sides of any real data, and far from the ends of Python's and the databases' dates.
FIRST_DAY = date(1970, 1, 1)
LAST_DAY = date(2199, 12, 31)
# The longest period a report covers (about a century).
MAX_DAYS = 36_600


def _no_nul(text: str) -> str:
    # PostgreSQL's text cannot hold U+0000, and no name or title needs it.
    if "\x00" in text:
        raise ValueError("must not contain a NUL character (\\u0000)")
    return text


RowId = Annotated[int, Ge(1), Le(MAX_ROW_ID)]
Cursor = Annotated[int, Ge(0), Le(MAX_ROW_ID)]
Day = Annotated[date, Ge(FIRST_DAY), Le(LAST_DAY)]


# A string without NUL of at most 10,000 characters (Text), or of the length its name says.
Text = Annotated[str, StringConstraints(max_length=10_000), AfterValidator(_no_nul)]
Text40 = Annotated[str, StringConstraints(max_length=40), AfterValidator(_no_nul)]
Text64 = Annotated[str, StringConstraints(max_length=64), AfterValidator(_no_nul)]
Text200 = Annotated[str, StringConstraints(max_length=200), AfterValidator(_no_nul)]


def parse_day(text: str | None) -> date | None:
    """The day an ISO text (2026-11-22) names, or None when it names none from FIRST_DAY to
    LAST_DAY."""
    try:
        day = date.fromisoformat(text.strip()) if text else None
    except ValueError:
        return None
    return day if day and FIRST_DAY <= day <= LAST_DAY else None


def is_whole_number(text: str, digits: int = 18) -> bool:
    """A string int() reads as a non-negative number of at most `digits` digits.
    str.isdecimal() is also true of '²' and '①', which int() refuses."""
    return text.isascii() and text.isdecimal() and len(text) <= digits


class RefuseNul:
    """ASGI middleware: a path or query string holding NUL (raw or %00) is refused with a 400
    before any route sees it; the databases cannot store it and no name contains it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for field, raw in (
                ("path", scope.get("raw_path") or scope["path"].encode("utf-8", "surrogatepass")),
                ("query", scope.get("query_string") or b""),
            ):
                if b"\x00" in unquote_to_bytes(raw):
                    return await _refuse(send, field)
        await self.app(scope, receive, send)


async def _refuse(send: Send, field: str) -> None:
    error = InvalidInput(f"the {field} holds a NUL character", field=field)
    body = json.dumps(error.answer()).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 400, "headers": headers})
    await send({"type": "http.response.body", "body": body})


# What only a value from outside can raise deep inside: a number or a date past what Python, a
# driver or a database holds, or bytes that are not text. The app answers them with a 400.
INPUT_ERRORS = (OverflowError, UnicodeError, DataError)


def as_invalid(error: Exception) -> InvalidInput:
    if isinstance(error, UnicodeError):
        return InvalidInput(N_("the request holds text that is not valid UTF-8"), code="not_text")
    if isinstance(error, DataError):
        message = N_("a value in the request cannot be stored (too large, or holding a NUL)")
        return InvalidInput(message, code="not_storable")
    return InvalidInput(N_("a value in the request is out of range"), code="out_of_range")
