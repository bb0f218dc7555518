"""Form fields the promotions pages share: yuan as staff type them, a datetime-local in the
brand's zone, a list typed with Chinese or Latin commas, and the pause / resume / end form."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, BeforeValidator
from sqlalchemy.orm import Session

from siyu.core.errors import SiyuError
from siyu.core.forms import Submission, one_of
from siyu.core.i18n import N_
from siyu.core.money import typed_fen
from siyu.core.settings import get_settings

# Where each status leads: the page says what it did.
STATUS_DONE = {"active": "resumed", "paused": "paused", "ended": "ended"}


def zone() -> ZoneInfo:
    return get_settings().zone


def _fen(value: object) -> object:
    """Yuan as typed to integer fen (core.money); a blank stays unset."""
    return typed_fen(value) if isinstance(value, str) else value


def _local_time(value: object) -> object:
    """A datetime-local input's value, read in the brand's zone."""
    if not isinstance(value, str):
        return value
    try:
        return datetime.fromisoformat(value.strip()).replace(tzinfo=zone())
    except ValueError:
        raise ValueError(N_("enter a date and time")) from None


Fen = Annotated[int, BeforeValidator(_fen)]
LocalTime = Annotated[datetime, BeforeValidator(_local_time)]


def names(text: str) -> list[str]:
    """A comma- or line-separated list as typed (Chinese commas too)."""
    for mark in ("，", "、", "\n", ";", "；"):
        text = text.replace(mark, ",")
    return [name.strip() for name in text.split(",") if name.strip()]


class StatusForm(BaseModel):
    """Pause (paused), resume (active) or end (ended) a coupon template or a flash sale."""

    status: Annotated[str, one_of(("active", "paused", "ended"))]


def status_changed(
    session: Session,
    form: Submission[StatusForm],
    move: Callable[[str], Any],
    page: Callable[..., Response],
    url: str,
) -> Response:
    """The pause / resume / end form of any activity's page: `move(status)` does it, then back to
    `url` saying what was done; a bad form or a refusal shows `page(status_code, status_form=…)`
    with the error (the move rolled back)."""
    if form.data is None:
        return page(400, status_form=form)
    try:
        move(form.data.status)
    except SiyuError as error:
        session.rollback()
        return page(error.status, status_form=form.refuse(error, ""))
    return RedirectResponse(f"{url}?done={STATUS_DONE[form.data.status]}", status_code=303)
