"""Touchpoints page: the registry beside what each touchpoint brought in a period, and its CSV.

The registry (names, stores, owners) comes from the OLTP database; the numbers from the
`touchpoints` report over the lake (analytics/touchpoint_numbers.py says what each counts): new
customers, scans, new contacts, deletions, and the orders and GMV paid in the period by the
customers the touchpoint acquired, whenever they came.
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select
from sqlalchemy.orm import Session, aliased

from siyu.analytics.touchpoint_numbers import Counts
from siyu.console.dashboard import PERIODS, chosen_period, pinned_end
from siyu.console.numbers import numbers as code_numbers
from siyu.console.web import N_, allowed, gettext, render, request_locale
from siyu.core import csvsafe
from siyu.core.deps import SessionDep
from siyu.core.periods import Period
from siyu.staff.models import Staff, Store
from siyu.touchpoints.labels import ENTRY_LABELS, GROUP_LABELS
from siyu.touchpoints.models import GROUPS, Touchpoint
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("touchpoints.view")]


@dataclass(frozen=True)
class TouchpointRow:
    code: str
    name: str
    group: str
    entry_type: str
    store: str | None
    owner: str | None
    is_registered: bool
    numbers: Counts = field(default_factory=Counts)  # in the period (touchpoint_numbers)


def registry(session: Session) -> list[TouchpointRow]:
    """Every touchpoint in the registry, with its store's and owner's names."""
    owner = aliased(Staff)
    rows = session.execute(
        select(Touchpoint, Store.name, owner.name)
        .outerjoin(Store, Store.id == Touchpoint.store_id)
        .outerjoin(owner, owner.id == Touchpoint.owner_id)
        .order_by(Touchpoint.code)
    )
    return [
        TouchpointRow(t.code, t.name, t.group, t.entry_type, store, staff, t.is_registered)
        for t, store, staff in rows
    ]


def touchpoint_report(
    registered: list[TouchpointRow], numbers: Mapping[str, Counts], group: str | None = None
) -> list[TouchpointRow]:
    """The registry with its numbers (console.numbers, by touchpoint), plus codes seen in the lake
    but not in the registry."""
    known = {row.code for row in registered}
    unknown = [
        TouchpointRow(code, code, "other", "owned", None, None, False)
        for code in sorted(set(numbers) - known)
    ]
    rows = [
        replace(row, numbers=numbers[row.code]) if row.code in numbers else row
        for row in registered + unknown
    ]
    if group:
        rows = [row for row in rows if row.group == group]
    return sorted(rows, key=_busiest_first)


def _busiest_first(row: TouchpointRow) -> tuple:
    found = row.numbers
    return (-found.new_customers, -found.gmv_fen, -found.scans, row.code)


def report_for(session: Session, period: Period, group: str | None) -> list[TouchpointRow]:
    return touchpoint_report(registry(session), code_numbers(period, by="touchpoint"), group)


def chosen_group(group: str | None) -> str | None:
    return group if group in GROUPS else None


@router.get("/touchpoints", response_class=HTMLResponse)
def touchpoints_page(
    request: Request,
    session: SessionDep,
    user: Viewer,
    period: str | None = None,
    end: str | None = None,
    group: str | None = None,
):
    chosen, group = chosen_period(period, end), chosen_group(group)
    rows = report_for(session, chosen, group)
    return render(
        request,
        "touchpoint_list.html",
        rows=rows,
        period=chosen,
        end=pinned_end(chosen, end),
        group=group,
        periods=PERIODS,
        groups=GROUPS,
        group_labels=GROUP_LABELS,
        entry_labels=ENTRY_LABELS,
        unregistered=sum(1 for row in rows if not row.is_registered),
        totals=_totals(rows),
    )


def _totals(rows: list[TouchpointRow]) -> Counts:
    return Counts(
        **{name: sum(getattr(r.numbers, name) for r in rows) for name in Counts.model_fields}
    )


CSV_COLUMNS = (
    N_("Code"),
    N_("Touchpoint name"),
    N_("Group"),
    N_("Entry type"),
    N_("Store"),
    N_("Owner"),
    N_("Registered"),
    N_("New customers"),
    N_("Scans"),
    N_("New contacts"),
    N_("Contact rate"),
    N_("Deletions"),
    N_("Orders"),
    N_("GMV (yuan)"),
)


def touchpoints_csv(rows: list[TouchpointRow], locale: str) -> str:
    """The report as CSV, headers in the reader's language, with a BOM so Excel reads UTF-8."""
    _ = gettext(locale)
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow([_(name) for name in CSV_COLUMNS])
    for r in rows:
        writer.writerow(
            [
                r.code,
                r.name,
                _(GROUP_LABELS.get(r.group, r.group)),
                _(ENTRY_LABELS.get(r.entry_type, r.entry_type)),
                r.store or "",
                r.owner or "",
                _("yes") if r.is_registered else _("no"),
                r.numbers.new_customers,
                r.numbers.scans,
                r.numbers.contacts,
                "" if r.numbers.contact_rate is None else f"{r.numbers.contact_rate:.1%}",
                r.numbers.deletions,
                r.numbers.orders,
                f"{Decimal(r.numbers.gmv_fen) / 100:.2f}",
            ]
        )
    return "\ufeff" + buffer.getvalue()


@router.get("/touchpoints.csv")
def touchpoints_download(
    request: Request,
    session: SessionDep,
    user: Viewer,
    period: str | None = None,
    end: str | None = None,
    group: str | None = None,
):
    chosen = chosen_period(period, end)
    rows = report_for(session, chosen, chosen_group(group))
    name = f"touchpoints-{chosen.start.isoformat()}-{chosen.end.isoformat()}.csv"
    return Response(
        touchpoints_csv(rows, request_locale(request, user)),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
