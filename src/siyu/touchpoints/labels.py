"""How touchpoint groups and entry types read to people (message ids; translate at the edge)."""

from __future__ import annotations

from siyu.core.i18n import N_

GROUP_LABELS = {
    "official_account": N_("Official account"),
    "guide": N_("Shopping guide"),
    "group": N_("Customer group"),
    "mini_program": N_("Mini program"),
    "store": N_("Store"),
    "poster": N_("Poster"),
    "product_item": N_("Product code"),
    "paid_ad": N_("Paid ad"),
    "sms": N_("SMS"),
    "mall": N_("Mall"),
    "other": N_("Other"),
    "none": N_("No touchpoint"),  # a customer who came through no touchpoint
}
ENTRY_LABELS = {
    "organic": N_("Platform organic"),
    "owned": N_("Owned"),
    "paid": N_("Paid"),
    "none": N_("No touchpoint"),
}
