"""Sections of the console not built yet (each says what it will hold and what works today), and
the analytics section: an index of the reports that are built."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from siyu.analytics.registry import REPORTS, SUMMARIES, TITLES
from siyu.console.web import N_, allowed, render
from siyu.core.permissions import can
from siyu.users.models import User

router = APIRouter(include_in_schema=False)


@dataclass(frozen=True)
class Step:
    """Something a user can do today: words, and a console link or a command."""

    text: str
    href: str | None = None
    command: str | None = None
    permission: str | None = None  # shown only to users holding it


@dataclass(frozen=True)
class Section:
    title: str
    coming: tuple[str, ...]
    today: tuple[Step, ...]


SEGMENTS = Section(
    N_("Tags & segments"),
    (N_("Segments and tags are open to admins, operators and analysts."),),
    (
        Step(N_("Tags: groups, counts, history, bulk tagging."), "/tags", permission="tags.view"),
        Step(
            N_("Segments: build a rule, see the count, refresh, export."),
            "/segments/list",
            permission="segments.view",
        ),
        Step(N_("Look customers up and filter them in the customer list."), "/customers"),
    ),
)
# 数据分析: the reports are built, so the section is their index and the pages beside them.
ANALYTICS_PAGES = (
    Step(N_("New customers, GMV, orders and active customers against the previous period."), "/"),
    Step(
        N_("Each touchpoint's new customers, scans, orders and GMV, as CSV too."),
        href="/touchpoints",
        permission="touchpoints.view",
    ),
    Step(
        N_("See what the event lake holds, then query its Parquet files with DuckDB."),
        command="siyu lake status",
    ),
)


def _show(request: Request, user: User, section: Section):
    return render(request, "section_page.html", section=section)


@router.get("/segments", response_class=HTMLResponse)
def segments(request: Request, user: Annotated[User, allowed("customers.view")]):
    if can(user.role, "segments.view"):
        return RedirectResponse("/segments/list", status_code=303)
    return _show(request, user, SEGMENTS)


@router.get("/analytics", response_class=HTMLResponse)
def analytics(request: Request, user: Annotated[User, allowed("dashboard.view")]):
    """The reports a user may open, and the pages with numbers beside them."""
    return render(
        request,
        "reports_index.html",
        heading=N_("Analytics"),
        reports=REPORTS if can(user.role, "reports.view") else {},
        titles=TITLES,
        summaries=SUMMARIES,
        pages=ANALYTICS_PAGES,
    )
