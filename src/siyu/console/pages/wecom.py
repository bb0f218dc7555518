"""The WeCom page: is it configured, the latest callbacks, the re-sync's progress, loss alerts.

A guide sees only the loss alerts of their own customers (or of the guides they manage).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.permissions import can
from siyu.core.settings import get_settings
from siyu.users.models import User
from siyu.wecom import inbox, service
from siyu.wecom.errors import WECOM, explain_stored
from siyu.wecom.jobs import request_sync, request_transfers

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("wecom.view")]
Manager = Annotated[User, allowed("wecom.manage")]

LOSS_KINDS = {
    "del_follow_user": N_("The customer deleted the guide"),
    "del_external_contact": N_("The guide deleted the customer"),
}
STATUSES = {
    "queued": N_("waiting"),
    "done": N_("done"),
    "failed": N_("failed"),
    "running": N_("running"),
}
SYNC_STATUSES = {
    "running": N_("Sync running"),
    "failed": N_("Sync stopped (resumes where it was)"),
    "done": N_("Sync finished"),
}


def _sync_context(session) -> dict:
    return {
        "run": service.latest_sync(session),
        "is_waiting": service.sync_is_waiting(session),
        "sync_statuses": SYNC_STATUSES,
        "explained": _explained,
    }


def _explained(text: str | None):
    """A stored WeCom error in words the console translates (None: show the text as it is)."""
    return explain_stored(WECOM, text)


@router.get("/wecom", response_class=HTMLResponse)
def wecom_page(request: Request, session: SessionDep, user: Viewer, done: str | None = None):
    is_guide = user.role == "guide"
    context: dict[str, Any] = {
        "alerts": service.loss_alerts(session, user.staff_id if is_guide else None),
        "loss_kinds": LOSS_KINDS,
        "is_guide": is_guide,
        "done": done,
    }
    if not is_guide:
        base = get_settings().public_base(str(request.base_url))  # where WeCom calls back
        context |= {
            "config": service.configuration(),
            "callback_url": f"{base}/wecom/callback",
            "wechat_url": f"{base}/wechat/callback",
            "callbacks": (callbacks := inbox.recent(session)),
            "problems": service.callback_problems(session, callbacks),
            "counts": service.callback_counts(session),
            "statuses": STATUSES,
            "can_sync": can(user.role, "wecom.manage"),
            "transfers_waiting": service.transfers_waiting(session),
            **_sync_context(session),
        }
    return render(request, "wecom_page.html", **context)


@router.get("/wecom/sync", response_class=HTMLResponse)
def sync_card(request: Request, session: SessionDep, user: Manager):
    """The sync card alone: the page polls it while a sync runs."""
    return render(request, "wecom_sync_card.html", can_sync=True, **_sync_context(session))


@router.post("/wecom/sync")
def start_sync(session: SessionDep, user: Manager):
    request_sync(session)
    return RedirectResponse("/wecom?done=sync", status_code=303)


@router.post("/wecom/transfers")
def send_transfers(session: SessionDep, user: Manager):
    request_transfers(session)
    return RedirectResponse("/wecom?done=transfers", status_code=303)
