"""Flash-sale prices per member tier (会员价): a sale may sell to a tier's members at a price of
their own; a reservation is made at its customer's price, kept beside it. A sale without tier
prices costs its reservations no query (the sale's settings say whether it ever had any)."""

from __future__ import annotations

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from siyu.promotions import activities
from siyu.promotions.member_models import FlashMemberPrice, FlashTierPrice, Membership
from siyu.promotions.models import FlashReservation, FlashSale

FLAG = "tier_prices"


def set_tier_price(session: Session, sale: FlashSale, tier_id: int, price_fen: int | None) -> None:
    """The tier's members pay `price_fen` in this sale (None: the sale's price again)."""
    session.execute(
        delete(FlashTierPrice).where(
            FlashTierPrice.sale_id == sale.id, FlashTierPrice.tier_id == tier_id
        )
    )
    if price_fen is not None:
        activities.check_price(price_fen)
        session.add(FlashTierPrice(sale_id=sale.id, tier_id=tier_id, price_fen=price_fen))
        # Once a sale has had tier prices its reservations are read for theirs: the flag stays
        # (a reservation made at a tier's price keeps it after the price is taken away).
        sale.settings = {**(sale.settings or {}), FLAG: True}
    session.flush()


def tier_prices(session: Session, sale: FlashSale) -> dict[int, int]:
    """Tier id → price in fen."""
    rows = session.execute(
        select(FlashTierPrice.tier_id, FlashTierPrice.price_fen).where(
            FlashTierPrice.sale_id == sale.id
        )
    ).all()
    return {tier: price for tier, price in rows}


def customer_price(session: Session, sale: FlashSale, customer_id: int) -> int:
    """What this customer pays in the sale: their tier's price, else the sale's."""
    if not (sale.settings or {}).get(FLAG):
        return sale.price_fen
    price = session.scalar(
        select(FlashTierPrice.price_fen)
        .join(Membership, Membership.tier_id == FlashTierPrice.tier_id)
        .where(FlashTierPrice.sale_id == sale.id, Membership.customer_id == customer_id)
    )
    return price if price is not None else sale.price_fen


def price_reservation(session: Session, sale: FlashSale, reservation: FlashReservation) -> int:
    """The reservation's price (called by flash.reserve): the customer's tier's, kept beside it
    when it is not the sale's."""
    price = customer_price(session, sale, reservation.customer_id)
    if price != sale.price_fen:
        session.add(FlashMemberPrice(reservation_id=reservation.id, price_fen=price))
    return price


def reservation_price(session: Session, sale: FlashSale, reservation_id: int) -> int:
    """The price a reservation was made at (a sale without tier prices: no query)."""
    if not (sale.settings or {}).get(FLAG):
        return sale.price_fen
    kept = session.get(FlashMemberPrice, reservation_id)
    return kept.price_fen if kept else sale.price_fen
