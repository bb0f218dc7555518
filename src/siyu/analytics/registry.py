"""Every report kind, by the name the CLI, the API and the console use."""

from __future__ import annotations

from siyu.analytics import attribution, gmv, retention, rfm
from siyu.core.i18n import N_

REPORTS = {"gmv": gmv, "retention": retention, "rfm": rfm, "attribution": attribution}
TITLES = {
    "gmv": N_("GMV decomposition"),
    "retention": N_("Retention"),
    "rfm": N_("RFM layers"),
    "attribution": N_("Attribution"),
}
SUMMARIES = {
    "gmv": N_("Visitors × conversion × average order value × frequency, and what moved GMV."),
    "retention": N_("Of the customers who bought in a period, how many bought again."),
    "rfm": N_("Recency, frequency and monetary scores, the eight layers and who moved."),
    "attribution": N_("Which touchpoints earned the orders, under six models, with ROI."),
}
