"""Every report kind, by the name the CLI, the API and the console use."""

from __future__ import annotations

from siyu.analytics import (
    attribution,
    funnels,
    gmv,
    goods,
    guides,
    journey_steps,
    lake_customers,
    ltv,
    message_results,
    overview,
    retention,
    rfm,
    touchpoint_numbers,
)
from siyu.core.i18n import N_

REPORTS = {
    "gmv": gmv,
    "retention": retention,
    "rfm": rfm,
    "attribution": attribution,
    "funnels": funnels,
    "ltv": ltv,
    "guides": guides,
    "goods": goods,
}
# The numbers the console's pages show beside the reports (the home page, touchpoints, codes):
# runner queries like the reports, so a page and a report agree and both run on Spark.
PAGE_QUERIES = {
    "journey_steps": journey_steps,
    "lake_customers": lake_customers,
    "message_results": message_results,
    "overview": overview,
    "touchpoints": touchpoint_numbers,
}
TITLES = {
    "gmv": N_("GMV decomposition"),
    "retention": N_("Retention"),
    "rfm": N_("RFM layers"),
    "attribution": N_("Attribution"),
    "funnels": N_("Funnels"),
    "ltv": N_("Lifetime value"),
    "guides": N_("Guides"),
    "goods": N_("Goods fit"),
}
SUMMARIES = {
    "gmv": N_("Visitors × conversion × average order value × frequency, and what moved GMV."),
    "retention": N_("Of the customers who bought in a period, how many bought again."),
    "rfm": N_("Recency, frequency and monetary scores, the eight layers and who moved."),
    "attribution": N_("Which touchpoints earned the orders, under six models, with ROI."),
    "funnels": N_("Ordered steps within a window, AARRR and RARRA, and time to convert."),
    "ltv": N_("Value to date by cohort, and predicted with BG/NBD and Gamma-Gamma."),
    "guides": N_(
        "Each guide's customers: owned, new, lost, messages, tasks and their execution rate, "
        "orders and GMV."
    ),
    "goods": N_("Purchase frequency × average order value per product, in four quadrants."),
}
