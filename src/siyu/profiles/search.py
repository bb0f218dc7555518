"""The customers list (客户列表) and the 360 as the console shows them: search, filters, stages.

Built to stay fast at 1,000,000 customers:
- pages are keyset pages on customers.id, newest first (`after` = the last id shown): no OFFSET
  walk through earlier pages and no COUNT(*) per page (the first unfiltered page shows an
  estimate);
- a search term is looked up exactly in identities.value (a phone in its normalised form) and
  as a prefix (of two characters or more) of traits.name through the expression index
  ix_customers_name;
- owner, store and first touchpoint are indexed columns; tag and lifecycle stage are checked per
  row, so a page examines at most SCAN_BUDGET customers, and when that does not fill it, it says
  where it stopped and the next page carries on from there.

Lifecycle stages, the first that applies, from first_seen_at, the last paid order and
last_seen_at (the tags issue will make the thresholds per brand):
- new: first seen within NEW_DAYS (30) days;
- active: an order within ACTIVE_DAYS (90) days;
- silent: the last order ACTIVE_DAYS to SILENT_DAYS (90-180) days ago, or never bought but seen
  within SILENT_DAYS days;
- churned: everyone else.

A guide sees only the customers they own, and never a full phone number (`phone_hidden`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    String,
    and_,
    case,
    exists,
    false,
    func,
    literal_column,
    or_,
    select,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from siyu.core.db import table_of, utcnow
from siyu.customers import identity as ids
from siyu.customers.models import Customer, Identity
from siyu.orders.models import Order
from siyu.profiles import service
from siyu.staff.models import Staff, Store
from siyu.tags.models import CustomerTag
from siyu.tags.service import all_tags
from siyu.touchpoints.models import Touchpoint

LIFECYCLES = ("new", "active", "silent", "churned")
# The last paid order: within 30, 90 or 180 days, longer ago than 180 days, or none at all.
LAST_ORDERS = ("30d", "90d", "180d", "over_180d", "never")
NEW_DAYS, ACTIVE_DAYS, SILENT_DAYS = 30, 90, 180
PAGE_SIZE = 50
SCAN_BUDGET = 50_000
# The highest code point: `name < prefix + NAME_END` closes a prefix range on a byte-ordered index.
NAME_END = "\U0010ffff"
NAME_PREFIX_MIN = 2
MAX_CHOICES = 1000


@dataclass(frozen=True)
class Viewer:
    """Who is looking: a guide (导购) sees only the customers they own."""

    role: str
    staff_id: int | None = None

    @property
    def is_guide(self) -> bool:
        return self.role == "guide"

    def may_see_phone(self, owner_id: int | None = None) -> bool:
        """Guides see phones masked (138****8000), of their own customers too."""
        return service.sees_full_phones(self.role)


@dataclass(frozen=True)
class CustomerFilter:
    q: str = ""
    tag_id: int | None = None
    owner_id: int | None = None
    store_id: int | None = None
    lifecycle: str | None = None
    touchpoint: str | None = None
    last_order: str | None = None  # one of LAST_ORDERS

    @property
    def is_empty(self) -> bool:
        chosen = (
            self.q,
            self.tag_id,
            self.owner_id,
            self.store_id,
            self.lifecycle,
            self.touchpoint,
            self.last_order,
        )
        return not any(chosen)


@dataclass(frozen=True)
class CustomerRow:
    id: int
    name: str | None
    phone: str | None
    phone_hidden: bool
    owner: str | None
    store: str | None
    first_touchpoint: str | None
    first_touchpoint_name: str | None
    lifecycle: str
    orders: int
    net_fen: int
    last_seen_at: datetime | None


@dataclass(frozen=True)
class CustomerPage:
    rows: list[CustomerRow]
    next_after: int | None  # the cursor of the next page; None on the last one
    cut_short: bool  # the scan budget ran out before the page filled; the next page carries on
    estimated_total: int | None  # only on the first unfiltered page


def list_customers(
    session: Session,
    filters: CustomerFilter,
    viewer: Viewer,
    after: int | None = None,
    size: int = PAGE_SIZE,
    now: datetime | None = None,
) -> CustomerPage:
    """One keyset page of customers, newest first, as this viewer may see them."""
    now = now or utcnow()
    indexed = _indexed_conditions(session, filters, viewer, after)
    per_row = _per_row_conditions(filters, now)
    floor = _scan_floor(session, indexed) if per_row else None
    bounded = [Customer.id >= floor] if floor is not None else []
    found = session.execute(
        select(*_ROW_COLUMNS, lifecycle_stage(now).label("lifecycle"))
        .where(*indexed, *bounded, *per_row)
        .order_by(Customer.id.desc())
        .limit(size + 1)
    ).all()
    page, next_after = found[:size], floor
    if len(found) > size:
        next_after = page[-1].id
    estimate = None
    if after is None and filters.is_empty and not viewer.is_guide:
        estimate = estimated_customers(session)
    return CustomerPage(
        rows=_rows(session, page, viewer),
        next_after=next_after,
        cut_short=floor is not None and len(found) < size,
        estimated_total=estimate,
    )


_ROW_COLUMNS = (
    Customer.id,
    Customer.traits,
    Customer.owner_id,
    Customer.store_id,
    Customer.first_touchpoint,
    Customer.last_seen_at,
)


def lifecycle_stage(now: datetime) -> ColumnElement[str]:
    """The customer's stage as SQL: one correlated look at their orders (index on customer_id)."""
    last_order = func.max(Order.paid_at)
    silent_since = now - timedelta(days=SILENT_DAYS)
    stage = case(
        (Customer.first_seen_at >= now - timedelta(days=NEW_DAYS), "new"),
        (last_order >= now - timedelta(days=ACTIVE_DAYS), "active"),
        (last_order >= silent_since, "silent"),
        (and_(last_order.is_(None), Customer.last_seen_at >= silent_since), "silent"),
        else_="churned",
    )
    return (
        select(stage)
        .where(Order.customer_id == Customer.id, Order.paid_at.is_not(None))
        .correlate(Customer)
        .scalar_subquery()
    )


def _stage_conditions(stage: str, now: datetime) -> list[ColumnElement[bool]]:
    """In a stage: whether a customer is new is read from the row itself, so the newest
    customers (all new) are passed over without a look at their orders."""
    new = Customer.first_seen_at >= now - timedelta(days=NEW_DAYS)
    if stage == "new":
        return [new]
    return [or_(Customer.first_seen_at.is_(None), ~new), lifecycle_stage(now) == stage]


def _indexed_conditions(
    session: Session, filters: CustomerFilter, viewer: Viewer, after: int | None
) -> list[ColumnElement[bool]]:
    # Nearly every customer is unmerged: coalesce keeps this check off the merged_into_id index,
    # which a planner without statistics would otherwise walk as if it were selective.
    conditions: list[ColumnElement[bool]] = [func.coalesce(Customer.merged_into_id, 0) == 0]
    if after is not None:
        conditions.append(Customer.id < after)
    if viewer.is_guide:
        mine = viewer.staff_id is not None
        conditions.append(Customer.owner_id == viewer.staff_id if mine else false())
    if filters.owner_id is not None:
        conditions.append(Customer.owner_id == filters.owner_id)
    if filters.store_id is not None:
        conditions.append(Customer.store_id == filters.store_id)
    if filters.touchpoint:
        conditions.append(Customer.first_touchpoint == filters.touchpoint)
    if filters.q.strip():
        conditions.append(_matches(session, filters.q.strip()))
    return conditions


def _per_row_conditions(filters: CustomerFilter, now: datetime) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.tag_id is not None:
        conditions.append(
            exists().where(
                CustomerTag.customer_id == Customer.id, CustomerTag.tag_id == filters.tag_id
            )
        )
    if filters.lifecycle in LIFECYCLES:
        conditions.extend(_stage_conditions(filters.lifecycle, now))
    if filters.last_order in LAST_ORDERS:
        conditions.append(_last_order_condition(filters.last_order, now))
    return conditions


def _last_order_condition(choice: str, now: datetime) -> ColumnElement[bool]:
    paid = and_(Order.customer_id == Customer.id, Order.paid_at.is_not(None))
    if choice == "never":
        return ~exists().where(paid)
    last = select(func.max(Order.paid_at)).where(paid).correlate(Customer).scalar_subquery()
    if choice == "over_180d":
        return last < now - timedelta(days=180)
    return last >= now - timedelta(days=int(choice.removesuffix("d")))


def _scan_floor(session: Session, indexed: list[ColumnElement[bool]]) -> int | None:
    """The lowest id this page may examine: SCAN_BUDGET index entries down from the cursor.

    A bounded step along the index, so a rare tag or stage costs at most that many row checks
    per page instead of a walk through the whole table."""
    return session.scalar(
        select(Customer.id)
        .where(*indexed)
        .order_by(Customer.id.desc())
        .offset(SCAN_BUDGET - 1)
        .limit(1)
    )


def _matches(session: Session, term: str) -> ColumnElement[bool]:
    """An exact identity (or customer id), or a name starting with the term.

    One character matches whole names only: as a prefix it names a surname, a tenth of all
    customers (王 alone), which no index turns into a fast newest-first page."""
    name = name_key(session.get_bind().dialect)
    by_name = name == term
    if len(term) >= NAME_PREFIX_MIN:
        by_name = and_(name >= term, name < term + NAME_END)
    found = identity_matches(session, term)
    return or_(Customer.id.in_(found), by_name) if found else by_name


def identity_matches(session: Session, term: str) -> list[int]:
    """Customers an identity value names exactly (any type; a phone in its normalised form)."""
    candidates = {term, term.lower()}
    phone = ids.normalize_phone(term)
    if phone:
        candidates.add(phone)
    found = set(
        session.scalars(
            select(Identity.customer_id).where(Identity.value.in_(candidates)).limit(100)
        )
    )
    if term.isdecimal() and len(term) < 19:
        found.add(int(term))
    return sorted(found)


@lru_cache
def _name_sql(dialect: Dialect) -> str:
    index = next(i for i in table_of(Customer).indexes if i.name == "ix_customers_name")
    expression = index.expressions[0]
    if isinstance(expression, str):  # a column named by its name
        return expression
    return str(expression.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))


def name_key(dialect: Dialect) -> ColumnElement[str]:
    """traits.name exactly as the ix_customers_name index holds it, so the index serves ranges."""
    return literal_column(_name_sql(dialect), String)


def estimated_customers(session: Session) -> int:
    """About how many customers there are, without counting a million rows."""
    if session.get_bind().dialect.name == "postgresql":
        rows = session.scalar(
            text("SELECT reltuples::bigint FROM pg_class WHERE oid = 'customers'::regclass")
        )
        if rows is not None and rows >= 0:
            return int(rows)
    highest = session.scalar(select(func.max(Customer.id))) or 0
    merged = session.scalar(
        select(func.count()).select_from(Customer).where(Customer.merged_into_id.is_not(None))
    )
    return max(highest - (merged or 0), 0)


def _rows(session: Session, found: Sequence[Any], viewer: Viewer) -> list[CustomerRow]:
    customer_ids = [row.id for row in found]
    spend = _order_totals(session, customer_ids)
    phones = _phones(session, customer_ids)
    owners = _names(session, Staff, {row.owner_id for row in found})
    stores = _names(session, Store, {row.store_id for row in found})
    touchpoints = touchpoint_names(session, {row.first_touchpoint for row in found})
    return [
        CustomerRow(
            id=row.id,
            name=(row.traits or {}).get("name"),
            phone=phones.get(row.id),
            phone_hidden=not viewer.may_see_phone(row.owner_id),
            owner=owners.get(row.owner_id),
            store=stores.get(row.store_id),
            first_touchpoint=row.first_touchpoint,
            first_touchpoint_name=touchpoints.get(row.first_touchpoint),
            lifecycle=row.lifecycle or "churned",
            orders=spend.get(row.id, (0, 0))[0],
            net_fen=spend.get(row.id, (0, 0))[1],
            last_seen_at=row.last_seen_at,
        )
        for row in found
    ]


def _order_totals(session: Session, customer_ids: list[int]) -> dict[int, tuple[int, int]]:
    if not customer_ids:
        return {}
    rows = session.execute(
        select(
            Order.customer_id,
            func.count(Order.id),
            func.coalesce(func.sum(Order.amount_fen - Order.refunded_fen), 0),
        )
        .where(Order.customer_id.in_(customer_ids), Order.paid_at.is_not(None))
        .group_by(Order.customer_id)
    )
    return {customer_id: (count, int(net)) for customer_id, count, net in rows}


def _phones(session: Session, customer_ids: list[int]) -> dict[int, str]:
    """Each customer's first phone identity.

    The type is checked here, not in SQL: `type = 'phone'` would tempt a planner without
    statistics onto the (type, value) index, a walk through every phone there is."""
    if not customer_ids:
        return {}
    rows = session.execute(
        select(Identity.customer_id, Identity.type, Identity.value)
        .where(Identity.customer_id.in_(customer_ids))
        .order_by(Identity.id)
    )
    phones: dict[int, str] = {}
    for customer_id, kind, value in rows:
        if kind == "phone":
            phones.setdefault(customer_id, value)
    return phones


def _names(session: Session, model: type[Staff] | type[Store], wanted: set) -> dict[int, str]:
    wanted.discard(None)
    if not wanted:
        return {}
    rows = session.execute(select(model.id, model.name).where(model.id.in_(wanted)))
    return {row_id: name for row_id, name in rows}


def touchpoint_names(session: Session, codes: set) -> dict[str, str]:
    codes.discard(None)
    if not codes:
        return {}
    rows = session.execute(
        select(Touchpoint.code, Touchpoint.name).where(Touchpoint.code.in_(codes))
    )
    return {code: name for code, name in rows}


def filter_choices(session: Session, viewer: Viewer) -> dict[str, Sequence[Any]]:
    """What the list's filters offer: tags, guides (not to a guide), stores, touchpoints."""
    owners: Sequence[Any] = []
    if not viewer.is_guide:
        owners = session.execute(
            select(Staff.id, Staff.name).order_by(Staff.name, Staff.id).limit(MAX_CHOICES)
        ).all()
    return {
        "tags": all_tags(session, MAX_CHOICES),
        "owners": owners,
        "stores": session.execute(
            select(Store.id, Store.name).order_by(Store.name).limit(MAX_CHOICES)
        ).all(),
        "touchpoints": session.execute(
            select(Touchpoint.code, Touchpoint.name).order_by(Touchpoint.name).limit(MAX_CHOICES)
        ).all(),
        "lifecycles": LIFECYCLES,
    }


def customer_view(
    session: Session, ref: str, viewer: Viewer, events: int = 50, now: datetime | None = None
) -> dict:
    """The customer 360 with what the console adds: names of owner, store and touchpoints, tags,
    lifecycle stage and whether the phone is hidden from this viewer."""
    view = service.customer_360(
        session, ref, events=events, role=viewer.role, staff_id=viewer.staff_id
    )
    view["owner"] = _names(session, Staff, {view["owner_id"]}).get(view["owner_id"])
    view["store"] = _names(session, Store, {view["store_id"]}).get(view["store_id"])
    view["lifecycle"] = session.scalar(
        select(lifecycle_stage(now or utcnow())).where(Customer.id == view["id"])
    )
    view["phone_hidden"] = not viewer.may_see_phone(view["owner_id"])
    view["phone_traits"] = {k for k in view["traits"] if ids.TRAIT_TYPES.get(k.lower()) == "phone"}
    codes = {view["first_touchpoint"], view["last_touchpoint"]}
    codes |= {e["touchpoint"] for e in view["latest_events"]}
    codes |= {o["touchpoint"] for o in view["orders"]}
    view["touchpoint_names"] = touchpoint_names(session, codes)
    _parse_times(view)
    return view


def _parse_times(view: dict) -> None:
    """customer_360 answers in ISO text (for JSON); the console formats datetimes by locale."""
    _parse(view, "first_seen_at", "last_seen_at")
    _parse(view["order_summary"], "first_order_at", "last_order_at")
    for identity in view["identities"]:
        _parse(identity, "since")
    for order in view["orders"]:
        _parse(order, "paid_at")
    for event in view["latest_events"]:
        _parse(event, "timestamp")
    for merge in view["merges"]:
        _parse(merge, "at", "undone_at")


def _parse(record: dict, *keys: str) -> None:
    for key in keys:
        if record.get(key):
            record[key] = datetime.fromisoformat(record[key])
