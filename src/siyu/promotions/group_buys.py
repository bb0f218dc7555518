"""Group buys (拼团): a leader opens a group for the activity's product, others join it by its
share code within the activity's hours, and the group succeeds at its size or, at its deadline,
fails (each member's payment refunded through the mall) or is filled by the house (robot fill,
when the operator set it, recorded as such).

A group's member count moves by one conditional statement, `UPDATE … SET members = members + 1
WHERE members < size AND status = 'open' AND deadline > now`, never by a read and a write: two
joiners can never both take the last place, on SQLite or PostgreSQL. It is the join's last
write but for the success it may bring, which is a conditional update on the status too, so a
group succeeds once and fails once. A customer is a group's member once (a unique key)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NamedTuple

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from siyu.core.db import insert_for, table_of, utcnow
from siyu.core.errors import Conflict, NotFound
from siyu.core.i18n import N_
from siyu.promotions import activities, refunds
from siyu.promotions.activities import (
    Happened,
    check_activity,
    check_price,
    check_range,
    not_live,
    order_id,
    order_used,
    payer,
    record,
)
from siyu.promotions.coupons import new_code, normal_code
from siyu.promotions.models import BuyGroup, GroupBuy, GroupMember

OPENED, JOINED = "Group Buy Opened", "Group Buy Joined"
SUCCEEDED, FAILED = "Group Buy Succeeded", "Group Buy Failed"
DEADLINES_KIND = "promotions.group_deadlines"
MAX_SIZE = 1000
MAX_HOURS = 24 * 30


class Closed(NamedTuple):
    """What a deadline pass did: groups filled by the house, groups failed, refunds emitted."""

    robot_filled: int
    failed: int
    refunds: int


# --- activities ----------------------------------------------------------------------------------


def create_group_buy(
    session: Session,
    key: str,
    name: str,
    product: str,
    price_fen: int,
    size: int,
    hours: int,
    starts_at: datetime,
    ends_at: datetime,
    robot_fill: bool = False,
    actor: str = "",
) -> GroupBuy:
    """A new group buy; every value is checked and a bad one is named."""
    check_price(price_fen)
    check_range(size, 2, MAX_SIZE, "size")
    check_range(hours, 1, MAX_HOURS, "hours")
    described = check_activity(session, GroupBuy, key, name, product, starts_at, ends_at)
    activity = GroupBuy(
        key=key,
        name=described.name,
        product=described.product,
        price_fen=price_fen,
        size=size,
        hours=hours,
        starts_at=starts_at,
        ends_at=ends_at,
        robot_fill=robot_fill,
        created_by=actor,
    )
    activities.add_activity(session, activity)
    return activity


def find_group_buy(session: Session, key: str) -> GroupBuy:
    activity = session.scalar(select(GroupBuy).where(GroupBuy.key == key))
    if activity is None:
        raise NotFound(N_("no group buy has the key %(key)s"), field="key", params={"key": key})
    return activity


def list_group_buys(session: Session, limit: int = 200) -> list[GroupBuy]:
    return list(session.scalars(select(GroupBuy).order_by(GroupBuy.id.desc()).limit(limit)))


def is_live(activity: GroupBuy, now: datetime | None = None) -> bool:
    """Whether groups may be opened at `now`: active, and between its start and its end."""
    now = now or utcnow()
    return activity.status == "active" and activity.starts_at <= now < activity.ends_at


def pause(session: Session, key: str) -> GroupBuy:
    """No new groups until it is resumed; the open ones still fill until their deadline."""
    return _move(session, key, "paused", frm=("active", "paused"))


def resume(session: Session, key: str) -> GroupBuy:
    return _move(session, key, "active", frm=("active", "paused"))


def end(session: Session, key: str) -> GroupBuy:
    """No new groups, for good; the open ones still fill (or fail) at their deadline."""
    return _move(session, key, "ended", frm=("active", "paused", "ended"))


def _move(session: Session, key: str, status: str, frm: tuple[str, ...]) -> GroupBuy:
    activity = find_group_buy(session, key)
    if activity.status not in frm:
        raise Conflict(
            N_("the group buy is %(status)s"), field="status", params={"status": activity.status}
        )
    activity.status = status
    session.flush()
    return activity


def summary(session: Session, activity: GroupBuy, now: datetime | None = None) -> dict[str, Any]:
    """The activity, and its groups counted by status with their members and robot places."""
    counted = session.execute(
        select(
            BuyGroup.status,
            func.count(),
            func.coalesce(func.sum(BuyGroup.members), 0),
            func.coalesce(func.sum(BuyGroup.robot_filled), 0),
        )
        .where(BuyGroup.group_buy_id == activity.id)
        .group_by(BuyGroup.status)
    ).all()
    groups = {status: 0 for status in ("open", "succeeded", "failed")}
    groups.update({status: count for status, count, _, _ in counted})
    return {
        "key": activity.key,
        "name": activity.name,
        "product": activity.product,
        "price_fen": activity.price_fen,
        "size": activity.size,
        "hours": activity.hours,
        "robot_fill": activity.robot_fill,
        "status": activity.status,
        "starts_at": activity.starts_at.isoformat(),
        "ends_at": activity.ends_at.isoformat(),
        "live": is_live(activity, now),
        "groups": groups,
        "members": sum(int(members) for _, _, members, _ in counted),
        "robot_filled": sum(int(robots) for *_, robots in counted),
    }


# --- groups --------------------------------------------------------------------------------------


def find_group(session: Session, code: str) -> BuyGroup:
    group = session.scalar(select(BuyGroup).where(BuyGroup.code == normal_code(code)))
    if group is None:
        raise NotFound(N_("no group has this code"), field="code")
    return group


def open_group(
    session: Session,
    key: str,
    customer_ref: str | int,
    order: str,
    amount_fen: int,
    now: datetime | None = None,
) -> BuyGroup:
    """A group led by the customer, whose order paid `amount_fen` for the first place; it has
    the activity's hours to fill (never past the activity's end)."""
    now = now or utcnow()
    activity = find_group_buy(session, key)
    if not is_live(activity, now):
        raise not_live(key)
    leader, order = payer(session, customer_ref), order_id(order)
    check_price(amount_fen, "amount")
    group = BuyGroup(
        group_buy_id=activity.id,
        code=new_code(),
        leader_id=leader.id,
        size=activity.size,
        members=1,
        status="open",
        deadline=min(now + timedelta(hours=activity.hours), activity.ends_at),
        opened_at=now,
    )
    session.add(group)
    session.flush()
    if _add_member(session, group, leader.id, order, amount_fen, now, is_leader=True) is None:
        raise order_used(order)
    opened = _paid(f"group-buy-opened-{group.id}", activity, group, leader.id, order, amount_fen)
    record(session, OPENED, now, [opened])
    return group


def join_group(
    session: Session,
    code: str,
    customer_ref: str | int,
    order: str,
    amount_fen: int,
    now: datetime | None = None,
) -> BuyGroup:
    """The customer, whose order paid `amount_fen`, takes a place in the group; the place that
    fills it makes it succeed. A full or closed group, or a customer in it already, is refused."""
    now = now or utcnow()
    group = find_group(session, code)
    activity = session.get_one(GroupBuy, group.group_buy_id)
    customer, order = payer(session, customer_ref), order_id(order)
    check_price(amount_fen, "amount")
    _check_open(group, now)  # as last committed: spares the writes
    member_id = _add_member(session, group, customer.id, order, amount_fen, now)
    if member_id is None:
        raise _already_joined() if _is_member(session, group, customer.id) else order_used(order)
    joined = _paid(f"group-buy-joined-{member_id}", activity, group, customer.id, order, amount_fen)
    record(session, JOINED, now, [joined])
    members = session.scalar(
        update(BuyGroup)
        .where(
            BuyGroup.id == group.id,
            BuyGroup.members < BuyGroup.size,
            BuyGroup.status == "open",
            BuyGroup.deadline > now,
        )
        .values(members=BuyGroup.members + 1)
        .returning(BuyGroup.members)
        .execution_options(synchronize_session=False)
    )
    session.refresh(group)
    if members is None:  # filled or closed since it was read: the place is rolled back
        _check_open(group, now)
        raise _closed()
    if members >= group.size:
        _succeed(session, activity, group, now)
    return group


def _check_open(group: BuyGroup, now: datetime) -> None:
    if group.status == "succeeded" or group.members >= group.size:
        raise Conflict(N_("the group is full"), code="full", field="code")
    if group.status != "open" or group.deadline <= now:
        raise _closed()


def _closed() -> Conflict:
    return Conflict(N_("the group is closed: its time ran out"), code="closed", field="code")


def _already_joined() -> Conflict:
    return Conflict(
        N_("the customer is in this group already"), code="already_joined", field="customer"
    )


def _add_member(
    session: Session,
    group: BuyGroup,
    customer_id: int,
    order: str,
    amount_fen: int,
    now: datetime,
    is_leader: bool = False,
) -> int | None:
    """The new member's id, or None when the customer is in the group or the order paid for
    another place already (both unique keys): one statement, no savepoint."""
    table = table_of(GroupMember)
    added = (
        insert_for(session, table)
        .values(
            group_id=group.id,
            customer_id=customer_id,
            order_id=order,
            amount_fen=amount_fen,
            is_leader=is_leader,
            joined_at=now,
        )
        .on_conflict_do_nothing()
        .returning(table.c.id)
    )
    return session.scalar(added)


def _is_member(session: Session, group: BuyGroup, customer_id: int) -> bool:
    found = select(GroupMember.id).where(
        GroupMember.group_id == group.id, GroupMember.customer_id == customer_id
    )
    return session.scalar(found) is not None


def _succeed(
    session: Session, activity: GroupBuy, group: BuyGroup, now: datetime, by_robot: bool = False
) -> bool:
    """Open → succeeded, once: full by its members, or filled by the house at the deadline
    (`robot_filled` records the places it filled)."""
    values: dict[str, Any] = {"status": "succeeded", "closed_at": now}
    where = [BuyGroup.id == group.id, BuyGroup.status == "open"]
    if by_robot:
        values["robot_filled"] = BuyGroup.size - BuyGroup.members
        where.append(BuyGroup.deadline <= now)
    else:
        where.append(BuyGroup.members >= BuyGroup.size)
    moved = session.execute(
        update(BuyGroup)
        .where(*where)
        .values(values)
        .returning(BuyGroup.id)
        .execution_options(synchronize_session=False)
    ).first()
    session.refresh(group)
    if moved is not None:
        record(session, SUCCEEDED, now, [_ended(SUCCEEDED, activity, group)])
    return moved is not None


# --- deadlines -----------------------------------------------------------------------------------


def close_due(session: Session, now: datetime | None = None, limit: int = 500) -> Closed:
    """Close the open groups past their deadline: filled by the house when the activity says
    so, failed otherwise, with one refund per paying member. A group another pass closed first
    is left as it is, so a second pass (or two at once) changes and emits nothing."""
    now = now or utcnow()
    due = session.scalars(
        select(BuyGroup.id)
        .where(BuyGroup.status == "open", BuyGroup.deadline <= now)
        .order_by(BuyGroup.deadline, BuyGroup.id)
        .limit(limit)
    ).all()
    filled = failed = refunded = 0
    for group_id in sorted(due):  # rows locked in one order by every pass
        group = session.get_one(BuyGroup, group_id)
        activity = session.get_one(GroupBuy, group.group_buy_id)
        if activity.robot_fill:
            filled += _succeed(session, activity, group, now, by_robot=True)
            continue
        made = _fail(session, activity, group, now)
        if made is not None:
            failed, refunded = failed + 1, refunded + made
    return Closed(filled, failed, refunded)


def _fail(session: Session, activity: GroupBuy, group: BuyGroup, now: datetime) -> int | None:
    """Open → failed, once, and a refund for each member; how many refunds (None: it was
    closed already)."""
    moved = session.execute(
        update(BuyGroup)
        .where(BuyGroup.id == group.id, BuyGroup.status == "open", BuyGroup.deadline <= now)
        .values(status="failed", closed_at=now)
        .returning(BuyGroup.id)
        .execution_options(synchronize_session=False)
    ).first()
    if moved is None:
        return None
    session.refresh(group)
    record(session, FAILED, now, [_ended(FAILED, activity, group)])
    members = session.scalars(
        select(GroupMember).where(GroupMember.group_id == group.id).order_by(GroupMember.id)
    ).all()
    owed = [refunds.Owed(m.id, m.customer_id, m.order_id, m.amount_fen) for m in members]
    made = refunds.issue(session, refunds.GROUP_BUY, activity.key, refunds.GROUP_FAILED, owed, now)
    return len(made)


def deadlines_job(session: Session, payload: dict) -> None:
    """Close the group buys' groups past their deadline: robot-filled, or failed and refunded."""
    close_due(session)


# --- answers and events --------------------------------------------------------------------------


def group_row(activity: GroupBuy, group: BuyGroup) -> dict[str, Any]:
    """A group as the API answers it and the CLI prints it."""
    return {
        "code": group.code,
        "group_buy": activity.key,
        "product": activity.product,
        "price": activity.price_fen / 100,
        "price_fen": activity.price_fen,
        "leader_id": group.leader_id,
        "status": group.status,
        "members": group.members,
        "size": group.size,
        "needed": 0 if group.status == "succeeded" else max(0, group.size - group.members),
        "robot_filled": group.robot_filled,
        "deadline": group.deadline.isoformat(),
        "opened_at": group.opened_at.isoformat(),
        "closed_at": group.closed_at.isoformat() if group.closed_at else None,
    }


def _properties(activity: GroupBuy, group: BuyGroup) -> dict[str, Any]:
    # the group's id, not its share code: the code lets anyone join, the lake is read widely
    return {
        "group_buy": activity.key,
        "product": activity.product,
        "price": activity.price_fen / 100,
        "group": group.id,
        "size": group.size,
    }


def _paid(
    message_id: str, activity: GroupBuy, group: BuyGroup, customer_id: int, order: str, fen: int
) -> Happened:
    """A place opened or joined, and the order that paid for it."""
    properties = {
        **_properties(activity, group),
        "deadline": group.deadline.isoformat(),
        "order_id": order,
        "amount": fen / 100,
    }
    return Happened(message_id, customer_id, properties)


def _ended(event: str, activity: GroupBuy, group: BuyGroup) -> Happened:
    properties = {**_properties(activity, group), "members": group.members}
    if event == SUCCEEDED:
        properties["robot_filled"] = group.robot_filled
    prefix = event.lower().replace(" ", "-")
    return Happened(f"{prefix}-{group.id}", group.leader_id, properties)
