"""WeCom 群发 handed to guides (GroupSend): written when the templates are made, followed until
each guide has confirmed and WeCom says, per customer, whether it went.

A GroupSend is one guide's share of a broadcast, journey step or task; its deliveries carry the
template's msgid (several, when the share took more than one template). The job
`messaging.group_sends` (every 10 minutes) asks get_groupmsg_task (did the guide confirm) and
get_groupmsg_send_result (per customer: 1 sent, 2 not a friend, 3 had a 群发 already that day)
and records each delivery's outcome through the dispatcher.

Without WeCom (the channel in console mode) the shares are the console sender's (msgids starting
`console-`): no WeCom knows them, so the follow-up asks nothing; the guide confirms on Siyu's
page (`confirm`), and a share nobody confirms within GIVE_UP_AFTER fails (not_confirmed) as a
WeCom one does, so no delivery waits for ever.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.messaging import dispatch  # the module: dispatch calls record_group_sends back
from siyu.messaging.channels.console import is_console
from siyu.messaging.channels.wecom import send_results
from siyu.messaging.models import Delivery, GroupSend
from siyu.messaging.sending import Outcome, Outgoing
from siyu.staff.models import Staff
from siyu.wecom.client import WecomClient, get_client

JOB_KIND = "messaging.group_sends"
CHANNEL = "wecom"
# A send's per-customer status in get_groupmsg_send_result, and what it means for the delivery.
RESULT_REASONS = {2: "not_a_friend", 3: "daily_limit"}
SENT, TASK_SENT = 1, 2
# A share with customers still waiting for the guide (partly: a journey step's share that got
# new customers after the guide sent to the first).
CONFIRMABLE = ("pending", "partly")
# A guide who has not confirmed in this long will not: their deliveries fail (not_confirmed).
GIVE_UP_AFTER = timedelta(days=30)


def record_group_sends(
    session: Session,
    outcomes: Sequence[Outcome],
    outgoing: Sequence[Outgoing],
    now: datetime | None = None,
) -> list[GroupSend]:
    """Keep a GroupSend for each guide's share of what WecomSender just handed over (called by
    the dispatcher after record_outcomes, in its transaction): one per origin, step and guide,
    its msgid the first template's, its recipients every delivery that has a template, made at
    `now` (the hand-over)."""
    made = {
        o.delivery_id: o.provider_id for o in outcomes if o.status == "pending" and o.provider_id
    }
    if not made:
        return []
    deliveries = session.scalars(select(Delivery).where(Delivery.id.in_(made))).all()
    shares: dict[tuple[str, int | None, str | None, int], str] = {}
    for delivery in deliveries:
        if delivery.guide_id is not None:
            share = (delivery.origin, delivery.origin_id, delivery.step, delivery.guide_id)
            shares.setdefault(share, made[delivery.id] or "")
    return [_keep(session, share, msgid, now or utcnow()) for share, msgid in shares.items()]


def _keep(
    session: Session, share: tuple[str, int | None, str | None, int], msgid: str, now: datetime
) -> GroupSend:
    origin, origin_id, step, guide_id = share
    row = session.scalar(_share_query(select(GroupSend), GroupSend, share))
    if row is None:
        row = GroupSend(
            origin=origin,
            origin_id=origin_id,
            step=step,
            guide_id=guide_id,
            msgid=msgid,
            created_at=now,
        )
        session.add(row)
    session.flush()
    row.recipients = (
        session.scalar(
            _deliveries_of(select(func.count(Delivery.id)), row).where(
                Delivery.provider_id.is_not(None)
            )
        )
        or 0
    )
    if row.status in ("sent", "failed"):  # a journey step's share gets new customers each day
        row.status = "partly"
    session.flush()
    return row


def _share_query(query: Any, model: Any, share: tuple) -> Any:
    origin, origin_id, step, guide_id = share
    query = query.where(model.origin == origin, model.guide_id == guide_id)
    query = query.where(
        model.origin_id.is_(None) if origin_id is None else model.origin_id == origin_id
    )
    return query.where(model.step.is_(None) if step is None else model.step == step)


def _deliveries_of(query: Any, row: GroupSend) -> Any:
    share = (row.origin, row.origin_id, row.step, row.guide_id)
    return _share_query(query, Delivery, share).where(Delivery.channel == CHANNEL)


# -- following them up -----------------------------------------------------------------------


def check_group_sends(
    session: Session, client: WecomClient | None = None, now: datetime | None = None
) -> int:
    """Ask WeCom about every GroupSend still open and record what it says; console shares (no
    WeCom to ask) only expire. How many shares were looked at."""
    now = now or utcnow()
    still_waiting = GroupSend.recipients > GroupSend.sent + GroupSend.failed
    rows = session.scalars(
        select(GroupSend).where(
            or_(GroupSend.status == "pending", (GroupSend.status == "partly") & still_waiting)
        )
    ).all()
    for row in rows:
        if is_console(row.msgid):
            expire(session, row, now)
        else:
            client = client or get_client()
            check(session, row, client, now)
    return len(rows)


def run_check(session: Session, payload: dict) -> None:
    """The job: follow up every open 群发 (scheduled every 10 minutes)."""
    check_group_sends(session)


def check(session: Session, row: GroupSend, client: WecomClient, now: datetime) -> None:
    """One guide's share: each template's task and send results → the deliveries' outcomes,
    then the share's status and counts."""
    userid = session.scalar(select(Staff.wecom_userid).where(Staff.id == row.guide_id))
    waiting = _waiting(session, row)
    outcomes: list[Outcome] = []
    for msgid, by_target in waiting.items():
        if not userid or not _confirmed(client, msgid, userid):
            if now - row.created_at > GIVE_UP_AFTER:
                outcomes += [
                    Outcome(d, "failed", msgid, "not_confirmed") for d in by_target.values()
                ]
            continue
        for result in send_results(client, msgid, userid):
            delivery_id = by_target.get(str(result.get("external_userid") or result.get("chat_id")))
            status = int(result.get("status") or 0)
            if delivery_id is None or not status:
                continue
            if status == SENT:
                outcomes.append(Outcome(delivery_id, "sent", msgid))
            else:
                reason = RESULT_REASONS.get(status, f"status_{status}")
                outcomes.append(Outcome(delivery_id, "failed", msgid, reason))
    if outcomes:
        dispatch.record_outcomes(session, outcomes, now)
    _count(session, row, now)


def expire(session: Session, row: GroupSend, now: datetime) -> None:
    """A console share not confirmed within GIVE_UP_AFTER: its waiting deliveries fail
    (not_confirmed), as a WeCom share's do."""
    if now - row.created_at <= GIVE_UP_AFTER:
        return
    outcomes = [
        Outcome(delivery_id, "failed", msgid, "not_confirmed")
        for msgid, by_target in _waiting(session, row).items()
        for delivery_id in by_target.values()
    ]
    dispatch.record_outcomes(session, outcomes, now)
    _count(session, row, now)


def _waiting(session: Session, row: GroupSend) -> dict[str, dict[str, int]]:
    """The share's deliveries still pending, by template msgid and then by address."""
    pending = session.execute(
        _deliveries_of(select(Delivery.id, Delivery.provider_id, Delivery.address), row).where(
            Delivery.status == "pending", Delivery.provider_id.is_not(None)
        )
    ).all()
    waiting: dict[str, dict[str, int]] = {}
    for delivery_id, msgid, address in pending:
        waiting.setdefault(msgid, {})[address or ""] = delivery_id
    return waiting


def _confirmed(client: WecomClient, msgid: str, userid: str) -> bool:
    tasks = client.extras.groupmsg_task(msgid).get("task_list") or []
    return any(t.get("userid") == userid and int(t.get("status") or 0) == TASK_SENT for t in tasks)


def _count(session: Session, row: GroupSend, now: datetime) -> None:
    session.flush()
    counts = dict(
        session.execute(
            _deliveries_of(select(Delivery.status, func.count(Delivery.id)), row)
            .where(Delivery.provider_id.is_not(None))
            .group_by(Delivery.status)
        ).all()
    )
    sent = counts.get("sent", 0) + counts.get("delivered", 0)
    failed, pending = counts.get("failed", 0), counts.get("pending", 0)
    row.recipients, row.sent, row.failed = sent + failed + pending, sent, failed
    row.status = group_status(sent, failed, pending)
    row.checked_at = now
    session.flush()


def group_status(sent: int, failed: int, pending: int) -> str:
    """pending until WeCom says of some customer that it went or failed (the guide confirmed);
    then sent (all), failed (none sent, none waiting) or partly (some of each, or some waiting)."""
    if not (sent or failed):
        return "pending"
    if pending == 0 and failed == 0:
        return "sent"
    if pending == 0 and sent == 0:
        return "failed"
    return "partly"


# -- reminding and reporting -----------------------------------------------------------------


def remind(
    session: Session,
    group_send_ids: Iterable[int],
    client: WecomClient | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Remind the guides of these open shares (remind_groupmsg_send for each template still
    waiting; WeCom allows three reminders a template in 24 hours). A console share has no WeCom
    to tell: its reminder is the note the guide's page shows (reminded_at). The ids reminded."""
    now, reminded = now or utcnow(), []
    for row in _open_shares(session, group_send_ids):
        msgids = set(_waiting(session, row)) or ({row.msgid} if row.msgid else set())
        for msgid in sorted(m for m in msgids if not is_console(m)):
            client = client or get_client()
            client.extras.remind_groupmsg_send(msgid)
        row.reminded_at = now
        reminded.append(row.id)
    session.flush()
    return reminded


def cancel(
    session: Session,
    group_send_ids: Iterable[int],
    client: WecomClient | None = None,
    now: datetime | None = None,
) -> list[int]:
    """Stop these shares where no customer has been reached yet (cancel_groupmsg_send for each
    template still waiting; the guide can no longer send it; a console share has no WeCom to
    tell): their waiting deliveries are cancelled and the share says `cancelled`. The ids
    cancelled."""
    now, stopped = now or utcnow(), []
    for row in _open_shares(session, group_send_ids):
        waiting = _waiting(session, row)
        for msgid in sorted(m for m in waiting if not is_console(m)):
            client = client or get_client()
            client.extras.cancel_groupmsg_send(msgid)
        ids = [d for by_target in waiting.values() for d in by_target.values()]
        session.execute(
            update(Delivery)
            .where(Delivery.id.in_(ids), Delivery.status == "pending")
            .values(status="cancelled", reason="cancelled")
            .execution_options(synchronize_session=False)
        )
        row.status, row.checked_at = "cancelled", now
        stopped.append(row.id)
    session.flush()
    return stopped


def confirm(session: Session, group_send_id: int, now: datetime | None = None) -> int:
    """A guide confirms their share on Siyu's own page (a channel in console mode, where no
    WeCom asks them): its waiting deliveries are sent. How many."""
    now = now or utcnow()
    row = session.get(GroupSend, group_send_id)
    if row is None or row.status not in CONFIRMABLE:
        return 0
    waiting = _waiting(session, row)
    outcomes = [
        Outcome(delivery_id, "sent", msgid)
        for msgid, by_target in waiting.items()
        for delivery_id in by_target.values()
    ]
    dispatch.record_outcomes(session, outcomes, now)
    _count(session, row, now)
    return len(outcomes)


def _open_shares(session: Session, ids: Iterable[int]) -> Sequence[GroupSend]:
    return session.scalars(
        select(GroupSend).where(GroupSend.id.in_(list(ids)), GroupSend.status == "pending")
    ).all()


def group_send_status(session: Session, origin: str, origin_id: int | None) -> list[dict]:
    """Per guide (for the console and the CLI): the share's status, counts and times."""
    query = (
        select(GroupSend, Staff.name, Staff.wecom_userid)
        .join(Staff, Staff.id == GroupSend.guide_id)
        .where(GroupSend.origin == origin)
    )
    if origin_id is not None:
        query = query.where(GroupSend.origin_id == origin_id)
    rows = session.execute(query.order_by(Staff.name, GroupSend.id)).all()
    return [
        {
            "id": row.id,
            "guide_id": row.guide_id,
            "guide": name,
            "wecom_userid": userid,
            "step": row.step,
            "status": row.status,
            "recipients": row.recipients,
            "sent": row.sent,
            "failed": row.failed,
            "waiting": max(row.recipients - row.sent - row.failed, 0),
            "msgid": row.msgid,
            "created_at": row.created_at.isoformat(),
            "checked_at": row.checked_at.isoformat() if row.checked_at else None,
            "reminded_at": row.reminded_at.isoformat() if row.reminded_at else None,
        }
        for row, name, userid in rows
    ]
