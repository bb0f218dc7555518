"""Promotions' door: what the other packages (journeys, the console, the demo, the subscribers)
use of coupons and flash sales."""

from __future__ import annotations

from siyu.promotions.coupons import (
    Issued,
    Item,
    Redemption,
    TemplateStats,
    Unprocessable,
    apply_order_events,
    create_template,
    customer_coupons,
    expire_due,
    find_coupon,
    find_template,
    issue,
    items_of,
    list_templates,
    normal_code,
    redeem,
    remind_due,
    return_for_refund,
    set_status,
    stats,
)

__all__ = [
    "Issued",
    "Item",
    "Redemption",
    "TemplateStats",
    "Unprocessable",
    "apply_order_events",
    "create_template",
    "customer_coupons",
    "expire_due",
    "find_coupon",
    "find_template",
    "issue",
    "items_of",
    "list_templates",
    "normal_code",
    "redeem",
    "remind_due",
    "return_for_refund",
    "set_status",
    "stats",
]
