"""A guide's own 群发 (phone first): each share of a broadcast handed to them, the text to send
and its customers. With WeCom connected the guide confirms in WeCom (群发助手) and the page
shows what WeCom reported; without it (the channel logs only) the guide confirms here, and the
outcome is recorded through the dispatcher (group_sends.confirm)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.broadcasts import service as broadcasts
from siyu.broadcasts.models import Broadcast
from siyu.console.pages.reach import GROUP_STATUS_LABELS, wecom_connected
from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import Conflict, NotFound
from siyu.core.limits import RowId
from siyu.customers.models import Customer
from siyu.journeys.models import Journey
from siyu.messaging import group_sends
from siyu.messaging.compose import compose
from siyu.messaging.models import Delivery, GroupSend
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Guide = Annotated[User, allowed("workbench.view")]
SHOWN = 30  # shares on the page, newest first
NAMES = 50  # customers named under a share


def _shares(session: Session, staff_id: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(GroupSend)
        .where(GroupSend.guide_id == staff_id)
        .order_by(GroupSend.created_at.desc(), GroupSend.id.desc())
        .limit(SHOWN)
    ).all()
    found = []
    for row in rows:
        share = select(Delivery).where(
            Delivery.origin == row.origin,
            Delivery.guide_id == staff_id,
            Delivery.channel == "wecom",
        )
        share = share.where(
            Delivery.origin_id.is_(None)
            if row.origin_id is None
            else Delivery.origin_id == row.origin_id
        )
        share = share.where(
            Delivery.step.is_(None) if row.step is None else Delivery.step == row.step
        )
        deliveries = session.scalars(share.order_by(Delivery.id).limit(NAMES)).all()
        people = session.scalars(
            select(Customer).where(Customer.id.in_([d.customer_id for d in deliveries]))
        ).all()
        names = {c.id: c.traits.get("name") or f"#{c.id}" for c in people}
        name = None
        if row.origin == "broadcast" and row.origin_id is not None:
            broadcast = session.get(Broadcast, row.origin_id)
            name = broadcast.name if broadcast else None
        elif row.origin == "journey" and row.origin_id is not None:
            journey = session.get(Journey, row.origin_id)
            name = journey.name if journey else None
        found.append(
            {
                "row": row,
                "name": name,
                "messages": _messages(session, deliveries, names),
                "customers": list(names.values()),
                "waiting": max(row.recipients - row.sent - row.failed, 0),
                "to_confirm": row.status in group_sends.CONFIRMABLE
                and row.recipients > row.sent + row.failed,
            }
        )
    return found


def _messages(
    session: Session, deliveries: Sequence[Delivery], names: dict[int, str]
) -> list[dict[str, Any]]:
    """What the guide sends, as each customer gets it (the template rendered for them, with its
    tracked links, as the dispatcher renders it): one entry per distinct text, with whom it is
    for. A text the same for everyone is one entry."""
    ready, _ = compose(session, deliveries)
    by_text: dict[str, list[str]] = {}
    for message in ready:
        text = str(message.content.get("text") or "")
        link = message.content.get("link")
        if isinstance(link, dict) and link.get("url"):
            text = f"{text}\n{link.get('title') or ''} {link['url']}".strip()
        if text:
            by_text.setdefault(text, []).append(names.get(message.customer_id, ""))
    return [{"text": text, "customers": who} for text, who in by_text.items()]


@router.get("/reach/my", response_class=HTMLResponse)
def my_group_sends(request: Request, session: SessionDep, user: Guide, done: str = ""):
    shares = _shares(session, user.staff_id) if user.staff_id else []
    return render(
        request,
        "reach_guide.html",
        shares=shares,
        open=[s for s in shares if s["to_confirm"]],
        wecom=wecom_connected(session),
        group_labels=GROUP_STATUS_LABELS,
        done=done,
        linked=user.staff_id is not None,
    )


@router.post("/reach/my/{group_send_id}/confirm")
def confirm(request: Request, session: SessionDep, user: Guide, group_send_id: RowId):
    """The guide sent it (console mode): record each waiting customer's message as sent."""
    row = session.get(GroupSend, group_send_id)
    if row is None or row.guide_id != user.staff_id:
        raise NotFound(N_("no such 群发 among yours"), field="group_send_id")
    if wecom_connected(session):
        raise Conflict(
            N_("this 群发 is confirmed in WeCom: open 群发助手 in WeCom to send it"),
            field="group_send_id",
        )
    sent = group_sends.confirm(session, row.id)
    broadcasts.finish_settled(session)  # the last guide's confirmation finishes the broadcast now
    return RedirectResponse(f"/reach/my?done=confirmed&n={sent}", status_code=303)
