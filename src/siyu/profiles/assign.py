"""Giving customers a guide by hand (分配导购): a segment's members or a list of phones or ids,
each customer a recorded move (staff.handover.assign_customers), with or without WeCom."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from siyu.core.errors import InvalidInput
from siyu.core.i18n import N_
from siyu.customers import service as customers
from siyu.segments import service as segments
from siyu.staff import handover


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
    session: Session, refs: Sequence[str], staff_id: int, actor: str, *, only_unowned: bool = False
) -> handover.Assignment:
    """Give the customers a list names (customer ids or phones, `customers.read_list`) to one
    guide; the references that name nobody are counted as not found."""
    handover.check_taker(session, staff_id, "guide")
    if not refs:
        raise InvalidInput(N_("the list names no customer"), field="file")
    customer_ids, unknown = customers_in_list(session, refs)
    return handover.assign_customers(
        session, customer_ids, staff_id, actor, unknown=unknown, only_unowned=only_unowned
    )


def customers_in_list(session: Session, refs: Sequence[str]) -> tuple[list[int], list[str]]:
    """The customers a list names, in its order (repeats kept), and the references that named
    nobody."""
    found = customers.customers_by_ref(session, refs)
    return [found[r] for r in refs if r in found], [r for r in refs if r not in found]
