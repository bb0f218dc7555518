"""Who may do what: one table for the console and the management API."""

from __future__ import annotations

ALL = frozenset({"admin", "operator", "analyst", "guide"})
STAFF = frozenset({"admin", "operator"})

# guide: only the customers they own; analyst: read-only; operator: all but users and keys.
PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.view": ALL,
    "customers.view": ALL,
    "customers.edit": STAFF,
    "customers.note": frozenset({"admin", "operator", "guide"}),  # a guide: their own customers
    "touchpoints.view": frozenset({"admin", "operator", "analyst"}),
    "codes.view": frozenset({"admin", "operator", "analyst"}),
    "codes.manage": STAFF,
    "staff.view": frozenset({"admin", "operator", "analyst"}),
    "staff.manage": STAFF,
    "tasks.view": ALL,  # a guide sees only their own assignments
    "tasks.manage": STAFF,
    "tasks.do": frozenset({"admin", "operator", "guide"}),
    "workbench.view": frozenset({"guide"}),  # a guide's own customers and alerts, phone first
    "reports.view": frozenset({"admin", "operator", "analyst"}),
    "imports.view": frozenset({"admin", "operator", "analyst"}),
    "imports.run": STAFF,
    "audit.view": STAFF,
    "segments.view": frozenset({"admin", "operator", "analyst"}),
    "segments.edit": STAFF,
    "tags.view": frozenset({"admin", "operator", "analyst"}),
    "tags.edit": STAFF,
    "journeys.view": frozenset({"admin", "operator", "analyst"}),
    "journeys.manage": STAFF,
    "users.manage": frozenset({"admin"}),
    "keys.manage": frozenset({"admin"}),
    "tokens.manage": frozenset({"admin"}),
    "wecom.view": ALL,  # a guide sees only the loss alerts of their own customers
    "wecom.manage": STAFF,
    # reach (触达): consent is personal data a guide does not manage; channels are settings
    "consent.view": frozenset({"admin", "operator", "analyst"}),
    "consent.edit": STAFF,
    "channels.manage": STAFF,
    "broadcasts.view": frozenset({"admin", "operator", "analyst"}),
    "broadcasts.manage": STAFF,
    # promotions (活动): coupons, flash sales, group buys, tiered prices; `mall` is the brand's
    # mall, mini-program or POS at checkout, and nothing else
    "promotions.view": frozenset({"admin", "operator", "analyst"}),
    "promotions.manage": STAFF,
    "promotions.checkout": frozenset({"admin", "operator", "mall"}),
}


def can(role: str | None, permission: str) -> bool:
    return role in PERMISSIONS[permission]
