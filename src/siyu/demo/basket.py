"""What a demo order holds: drinks of the season, festival merchandise, a coupon, the amount due."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache
from random import Random

from siyu.demo.brand import DRINKS, MERCH, Product

CENT = Decimal("0.01")
FESTIVALS = ("618", "double11", "double12")


@dataclass(frozen=True)
class Coupon:
    coupon_id: str
    name: str
    discount: Decimal
    threshold: Decimal = Decimal(0)


NEWCOMER = Coupon("NEW5", "新人立减5元", Decimal("5.00"))
REFERRED = Coupon("REF8", "老带新立减8元", Decimal("8.00"))
MEMBER_DAY = Coupon("MEMBER3", "会员日立减3元", Decimal("3.00"))
FESTIVAL_COUPONS = {
    "618": Coupon("618-30-8", "618满30减8", Decimal("8.00"), Decimal("30.00")),
    "double11": Coupon("1111-50-15", "双11满50减15", Decimal("15.00"), Decimal("50.00")),
    "double12": Coupon("1212-40-10", "双12满40减10", Decimal("10.00"), Decimal("40.00")),
}


@dataclass(frozen=True)
class Line:
    product: Product
    quantity: int

    @property
    def amount(self) -> Decimal:
        return self.product.price * self.quantity

    def as_property(self) -> dict:
        p = self.product
        return {
            "product_id": p.product_id,
            "name": p.name,
            "category": p.category,
            "price": f"{p.price:.2f}",
            "quantity": self.quantity,
        }


@cache
def drinks_in(month: int) -> tuple[Product, ...]:
    return tuple(d for d in DRINKS if not d.months or month in d.months)


def basket(rng: Random, cups: float, day: date, channel: str, festival: str | None) -> list[Line]:
    """Drinks for a store or mini-program order; tea and merchandise for the online mall."""
    if channel == "mall":
        return _lines(rng.choices(MERCH[1:], weights=(5, 3, 4), k=rng.choice((1, 1, 2))))
    count = 1 + sum(rng.random() < (cups - 1) / 3 for _ in range(3))
    if rng.random() < 0.03:  # a round for the office (拼单)
        count += rng.randint(3, 8)
    picks = [rng.choice(drinks_in(day.month)) for _ in range(count)]
    if festival in FESTIVALS and rng.random() < 0.2:
        picks.append(rng.choice((MERCH[0], MERCH[3])))
    return _lines(picks)


def _lines(picks: list[Product]) -> list[Line]:
    counts: dict[Product, int] = {}
    for product in picks:
        counts[product] = counts.get(product, 0) + 1
    return [Line(product, quantity) for product, quantity in counts.items()]


def subtotal(lines: list[Line]) -> Decimal:
    return sum((line.amount for line in lines), Decimal(0))


def choose_coupon(
    rng: Random, amount: Decimal, *, first: bool, referred: bool, member: bool, festival: str | None
) -> Coupon | None:
    """The coupon used on an order, if any; never one worth the whole order."""
    coupon = None
    if first and referred:
        coupon = REFERRED
    elif first and rng.random() < 0.5:
        coupon = NEWCOMER
    elif festival in FESTIVAL_COUPONS and rng.random() < 0.5:
        coupon = FESTIVAL_COUPONS[festival]
    elif member and rng.random() < 0.08:
        coupon = MEMBER_DAY
    if coupon is None or amount < coupon.threshold or coupon.discount >= amount:
        return None
    return coupon


def amount_due(lines: list[Line], coupon: Coupon | None) -> Decimal:
    due = subtotal(lines) - (coupon.discount if coupon else 0)
    return max(due, CENT).quantize(CENT)
