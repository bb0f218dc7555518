"""Every report kind, by the name the CLI, the API and the console use."""

from __future__ import annotations

from siyu.analytics import gmv
from siyu.core.i18n import N_

REPORTS = {"gmv": gmv}
TITLES = {
    "gmv": N_("GMV decomposition"),
}
SUMMARIES = {
    "gmv": N_("Visitors × conversion × average order value × frequency, and what moved GMV."),
}
