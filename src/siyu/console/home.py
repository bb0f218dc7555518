"""The home page: the dashboard for a period against the previous one, and what Siyu holds."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse

from siyu.console.dashboard import (
    PERIODS,
    Dashboard,
    DashboardQuery,
    build_dashboard,
    chosen_period,
    holdings,
    pinned_end,
)
from siyu.console.web import N_, allowed, gettext, render, request_locale
from siyu.core.deps import SessionDep
from siyu.core.periods import Period
from siyu.core.settings import get_settings
from siyu.touchpoints.labels import ENTRY_LABELS, GROUP_LABELS
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
FAVICON = Path(__file__).parent / "static" / "favicon.svg"

KPI_LABELS = {
    "new_customers": N_("New customers"),
    "active_customers": N_("Active customers"),
    "buyers": N_("Buyers"),
    "orders": N_("Orders"),
    "gmv_fen": N_("GMV"),
    "average_order_fen": N_("Average order value"),
}
MONEY_KPIS = ("gmv_fen", "average_order_fen")


def dashboard_query(user: User, period: Period) -> DashboardQuery:
    """The period seen as this user may see it: a guide, over the customers they own."""
    is_guide = user.role == "guide"
    return DashboardQuery(period, owner_id=user.staff_id if is_guide else None, is_guide=is_guide)


def chart_data(board: Dashboard, locale: str) -> dict:
    """What the page's charts draw, labels already in the reader's language."""
    _ = gettext(locale)
    return {
        "days": [day[5:] for day in board.days],
        "new_by_group": [
            {"name": _(GROUP_LABELS.get(group, group)), "data": counts}
            for group, counts in board.new_by_group.items()
        ],
        "entry_types": [
            {"name": _(ENTRY_LABELS.get(s.key, s.key)), "value": s.change.current}
            for s in board.entry_types
            if s.change.current
        ],
        "orders": board.orders,
        "gmv_fen": board.gmv_fen,
        "previous_gmv_fen": board.previous_gmv_fen,
        "active": board.active,
        "labels": {
            "orders": _("Orders"),
            "gmv": _("GMV"),
            "previous_gmv": _("GMV, previous period"),
            "active": _("Active customers"),
        },
    }


@router.get("/", response_class=HTMLResponse)
def home(
    request: Request,
    session: SessionDep,
    user: Annotated[User, allowed("dashboard.view")],
    period: str | None = None,
    end: str | None = None,
):
    query = dashboard_query(user, chosen_period(period, end))
    board = build_dashboard(query)
    return render(
        request,
        "home.html",
        board=board,
        query=query,
        end=pinned_end(query.period, end),
        facts=holdings(session, query.owner_id, query.is_guide),
        charts=chart_data(board, request_locale(request, user)),
        periods=PERIODS,
        kpi_labels=KPI_LABELS,
        money_kpis=MONEY_KPIS,
        group_labels=GROUP_LABELS,
        entry_labels=ENTRY_LABELS,
        zone=get_settings().timezone,
    )


@router.get("/healthz")
def health() -> dict:
    return {"ok": True}


@router.get("/favicon.ico")
def favicon() -> FileResponse:
    """Where browsers look for an icon on pages that link none (the API docs, a JSON answer)."""
    return FileResponse(FAVICON, media_type="image/svg+xml")
