"""Giving customers a guide by hand (分配导购): a segment's members or a list of phones or ids,
each customer a recorded move (staff.handover.assign_customers), with or without WeCom."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.segments import service as segments
from siyu.staff import handover
from siyu.staff import service as staff


def assign_segment(
    session: Session, key: str, staff_id: int, actor: str, *, only_unowned: bool = False
) -> handover.Assignment:
    """Give every current member of a segment (or those without an active guide) to one guide."""
    handover.check_taker(session, staff_id, "guide")
    segment = segments.find_segment(session, key)
    if segment.refreshed_at is None:
        raise InvalidInput(N_("refresh the segment first: it has no members yet"), field="segment")
    members = segments.member_ids(session, segment)
    return handover.assign_customers(session, members, staff_id, actor, only_unowned=only_unowned)


def assign_list(
    session: Session, text: str, staff_id: int, actor: str, *, only_unowned: bool = False
) -> handover.Assignment:
    """Give the customers a list names (phones or customer ids, one a line) to one guide."""
    handover.check_taker(session, staff_id, "guide")
    customer_ids, unknown = staff.customers_in_list(session, text)
    if not customer_ids and not unknown:
        raise InvalidInput(N_("the list names no customer"), field="file")
    return handover.assign_customers(
        session, customer_ids, staff_id, actor, unknown=unknown, only_unowned=only_unowned
    )
