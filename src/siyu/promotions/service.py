"""Promotions' door: what the other packages (journeys, the console, the demo, the subscribers)
use of coupons and flash sales."""

from __future__ import annotations

from siyu.promotions.coupon_orders import (
    apply_order_events,
    items_of,
)
from siyu.promotions.coupon_templates import (
    TemplateStats,
    create_template,
    daily_coupons,
    find_template,
    handed_out,
    list_templates,
    set_status,
    stats,
)
from siyu.promotions.coupons import (
    Issued,
    Item,
    Redemption,
    Unprocessable,
    audience,
    customer_coupons,
    expire_due,
    find_coupon,
    issue,
    normal_code,
    redeem,
    remind_due,
    return_for_refund,
)

__all__ = [
    "handed_out",
    "audience",
    "Issued",
    "Item",
    "Redemption",
    "TemplateStats",
    "Unprocessable",
    "apply_order_events",
    "create_template",
    "daily_coupons",
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
