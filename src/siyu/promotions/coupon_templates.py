"""Coupon templates (券模板): what a coupon is worth, when and where it holds, how many may be
issued; and what each template's coupons cost and brought in."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, literal_column, select, union_all
from sqlalchemy.orm import Session

from siyu.core.errors import Conflict, InvalidInput, NotFound
from siyu.core.i18n import N_
from siyu.core.settings import get_settings
from siyu.orders.models import Order
from siyu.promotions.activities import KEY, MAX_FEN, check_range
from siyu.promotions.models import COUPON_KINDS, Coupon, CouponTemplate

MAX_PER_CUSTOMER = 100
MAX_VALID_DAYS = 3650


def create_template(
    session: Session,
    key: str,
    name: str,
    kind: str,
    *,
    amount_fen: int = 0,
    percent: int = 0,
    cap_fen: int | None = None,
    threshold_fen: int = 0,
    free_item: str | None = None,
    valid_from: datetime | None = None,
    valid_until: datetime | None = None,
    valid_days: int | None = None,
    stock: int | None = None,
    per_customer: int = 1,
    stores: Sequence[str] = (),
    products: Sequence[str] = (),
    categories: Sequence[str] = (),
    stacks: bool = False,
    returnable: bool = True,
    claimable: bool = False,
    actor: str = "",
) -> CouponTemplate:
    """A coupon template; every rule is checked here, naming the field that breaks it."""
    key = key.strip()
    if not KEY.match(key):
        raise InvalidInput(N_("a key is 1-64 lowercase letters, digits, '-' or '_'"), field="key")
    if session.scalar(select(CouponTemplate.id).where(CouponTemplate.key == key)):
        raise Conflict(N_("a coupon template with this key exists"), field="key")
    if not name.strip():
        raise InvalidInput(N_("a name is required"), field="name")
    if kind not in COUPON_KINDS:
        raise InvalidInput(N_("choose one of the coupon kinds"), field="kind")
    _check_value(kind, amount_fen, percent, cap_fen, threshold_fen, free_item)
    _check_validity(valid_from, valid_until, valid_days)
    if stock is not None and stock < 1:
        raise InvalidInput(
            N_("the stock is at least 1 (leave it empty for no limit)"), field="stock"
        )
    if not 1 <= per_customer <= MAX_PER_CUSTOMER:
        raise InvalidInput(N_("each customer may hold 1 to 100"), field="per_customer")
    template = CouponTemplate(
        key=key,
        name=name.strip(),
        kind=kind,
        amount_fen=amount_fen,
        percent=percent,
        cap_fen=cap_fen,
        threshold_fen=threshold_fen,
        free_item=(free_item or "").strip() or None,
        valid_from=valid_from,
        valid_until=valid_until,
        valid_days=valid_days,
        stock=stock,
        per_customer=per_customer,
        stores=_names(stores),
        products=_names(products),
        categories=_names(categories),
        stacks=stacks,
        returnable=returnable,
        claimable=claimable,
        created_by=actor,
    )
    session.add(template)
    session.flush()
    return template


def _check_value(
    kind: str,
    amount_fen: int,
    percent: int,
    cap_fen: int | None,
    threshold_fen: int,
    free_item: str | None,
) -> None:
    for value, field in (
        (amount_fen, "amount"),
        (cap_fen or 0, "cap"),
        (threshold_fen, "threshold"),
    ):
        check_range(value, 0, MAX_FEN, field)
    if kind in ("amount", "threshold") and amount_fen <= 0:
        raise InvalidInput(N_("the amount off must be more than 0"), field="amount")
    if kind == "threshold" and threshold_fen <= amount_fen:
        raise InvalidInput(
            N_("a 满减 coupon's threshold must be more than its amount off"), field="threshold"
        )
    if threshold_fen < 0:
        raise InvalidInput(N_("the threshold cannot be negative"), field="threshold")
    if kind == "percent" and not 1 <= percent <= 99:
        raise InvalidInput(N_("the percent off is 1 to 99"), field="percent")
    if cap_fen is not None and cap_fen <= 0:
        raise InvalidInput(N_("the cap must be more than 0"), field="cap")
    if kind == "free_item" and not (free_item or "").strip():
        raise InvalidInput(N_("name the free item (its SKU)"), field="free_item")


def _check_validity(
    valid_from: datetime | None, valid_until: datetime | None, valid_days: int | None
) -> None:
    if valid_days is None and valid_until is None:
        raise InvalidInput(
            N_("give an end date or a number of days from issue"), field="valid_until"
        )
    if valid_days is not None and not 1 <= valid_days <= MAX_VALID_DAYS:
        raise InvalidInput(N_("valid for 1 to 3650 days"), field="valid_days")
    if valid_from and valid_until and valid_until <= valid_from:
        raise InvalidInput(N_("the end must be after the start"), field="valid_until")


def _names(values: Iterable[str]) -> list[str]:
    return sorted({v.strip() for v in values if v and v.strip()})


def find_template(session: Session, key: str) -> CouponTemplate:
    template = session.scalar(select(CouponTemplate).where(CouponTemplate.key == key))
    if template is None:
        raise NotFound(N_("no coupon template has this key"), field="key")
    return template


def list_templates(session: Session) -> list[CouponTemplate]:
    return list(session.scalars(select(CouponTemplate).order_by(CouponTemplate.id.desc())))


def set_status(session: Session, key: str, status: str) -> CouponTemplate:
    """Pause (no new coupons; issued ones still redeem), resume, or end (neither)."""
    template = find_template(session, key)
    if template.status == "ended" and status != "ended":
        raise Conflict(N_("an ended template stays ended"), field="key")
    template.status = status
    session.flush()
    return template


@dataclass(frozen=True)
class TemplateStats:
    issued: int
    redeemed: int
    expired: int
    discount_fen: int  # what the redeemed coupons cost the brand
    order_fen: int  # the amount of the orders that redeemed them

    @property
    def redemption_rate(self) -> float | None:
        return self.redeemed / self.issued if self.issued else None


def stats(session: Session, template_ids: list[int]) -> dict[int, TemplateStats]:
    """Each template's issued, redeemed and expired coupons and their cost, in one query."""
    if not template_ids:
        return {}
    redeemed = Coupon.status == "redeemed"
    rows = session.execute(
        select(
            Coupon.template_id,
            func.count(),
            func.count().filter(redeemed),
            func.count().filter(Coupon.status == "expired"),
            func.coalesce(func.sum(Coupon.discount_fen).filter(redeemed), 0),
        )
        .where(Coupon.template_id.in_(template_ids))
        .group_by(Coupon.template_id)
    ).all()
    order_fen = _redeemed_order_amounts(session, template_ids)
    found = {
        t: TemplateStats(int(n), int(r or 0), int(e or 0), int(d or 0), order_fen.get(t, 0))
        for t, n, r, e, d in rows
    }
    return {t: found.get(t, TemplateStats(0, 0, 0, 0, 0)) for t in template_ids}


def handed_out(session: Session, via: str, via_ref: str) -> dict[str, int]:
    """What one sender of coupons (a broadcast, a journey) handed out: issued, redeemed and the
    discount given, in one query."""
    redeemed = Coupon.status == "redeemed"
    issued, used, cost = session.execute(
        select(
            func.count(),
            func.count().filter(redeemed),
            func.coalesce(func.sum(Coupon.discount_fen).filter(redeemed), 0),
        ).where(Coupon.via == via, Coupon.via_ref == via_ref)
    ).one()
    return {"issued": int(issued), "redeemed": int(used or 0), "cost_fen": int(cost or 0)}


def _redeemed_order_amounts(session: Session, template_ids: list[int]) -> dict[int, int]:
    rows = session.execute(
        select(Coupon.template_id, func.sum(Order.amount_fen - Order.refunded_fen))
        .join(Order, Order.order_id == Coupon.order_id)
        .where(Coupon.template_id.in_(template_ids), Coupon.status == "redeemed")
        .group_by(Coupon.template_id)
    ).all()
    return {t: int(amount or 0) for t, amount in rows}


CHART_DAYS = 90  # the per-day chart's longest stretch


def _local_day(column: Any, dialect: str) -> Any:
    """The brand's day of a UTC column, in SQL. SQLite has no time zones: it adds the zone's
    offset now (exact for China's zones, which keep no daylight saving time)."""
    if dialect == "postgresql":
        return func.date(func.timezone(get_settings().zone.key, column))
    offset = datetime.now(get_settings().zone).utcoffset() or timedelta(0)
    return func.date(column, f"{int(offset.total_seconds() // 60):+d} minutes")


def daily_coupons(session: Session, template: CouponTemplate) -> dict[str, list[Any]]:
    """Coupons issued and redeemed per day of the brand (one query), every day of the stretch
    shown: at most CHART_DAYS, up to today, or to the last day with coupons when that is long
    past."""
    dialect = session.get_bind().dialect.name
    issued, redeemed = (
        _local_day(Coupon.issued_at, dialect),
        _local_day(Coupon.redeemed_at, dialect),
    )
    mine = Coupon.template_id == template.id
    rows = session.execute(
        union_all(
            select(issued, literal_column("'issued'"), func.count()).where(mine).group_by(issued),
            select(redeemed, literal_column("'redeemed'"), func.count())
            .where(mine, Coupon.status == "redeemed", Coupon.redeemed_at.is_not(None))
            .group_by(redeemed),
        )
    ).all()
    counts = {(date.fromisoformat(str(day)), what): int(n) for day, what, n in rows if day}
    if not counts:
        return {"days": [], "issued": [], "redeemed": []}
    first, last = min(d for d, _ in counts), max(d for d, _ in counts)
    today = datetime.now(get_settings().zone).date()
    if last < today and (today - last).days < CHART_DAYS:
        last = today  # the quiet days since are part of the story
    first = max(first, last - timedelta(days=CHART_DAYS - 1))
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    return {
        "days": [d.isoformat() for d in days],
        "issued": [counts.get((d, "issued"), 0) for d in days],
        "redeemed": [counts.get((d, "redeemed"), 0) for d in days],
    }
