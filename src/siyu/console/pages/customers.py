"""Console pages for customers: the list (search, filters, keyset pages) and the customer 360."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.console.web import allowed, render
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import Submission, posted
from siyu.core.limits import RowId, Text40, Text64
from siyu.customers import search, service
from siyu.customers.search import CustomerFilter, CustomerPage, Viewer
from siyu.tags import service as tags
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Reader = Annotated[User, allowed("customers.view")]
Editor = Annotated[User, allowed("customers.edit")]
RESULTS = "customer-results"  # the element the filters and the pager swap with htmx


def _clock() -> float:
    return time.perf_counter()


# Listed first in a route's signature, so the time it reports includes signing in.
Started = Annotated[float, Depends(_clock)]


def _timed(response: Response, started: float) -> Response:
    """Server-Timing: what the server spent on the page (the console benchmark reads it)."""
    response.headers["Server-Timing"] = f"app;dur={(time.perf_counter() - started) * 1000:.1f}"
    return response


def _number(value: str | None) -> int | None:
    value = (value or "").strip()
    return int(value) if value.isdecimal() and len(value) < 19 else None


def _viewer(user: User) -> Viewer:
    return Viewer(role=user.role, staff_id=user.staff_id)


def _query(filters: CustomerFilter, after: int | None = None) -> str:
    fields = {
        "q": filters.q,
        "tag": filters.tag_id,
        "owner": filters.owner_id,
        "store": filters.store_id,
        "lifecycle": filters.lifecycle,
        "touchpoint": filters.touchpoint,
        "after": after,
    }
    return urlencode({k: v for k, v in fields.items() if v not in (None, "")})


def _is_results_swap(request: Request) -> bool:
    """htmx asking for the results only; a history restore wants the whole page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-target") == RESULTS
        and headers.get("hx-history-restore-request") != "true"
    )


@router.get("/customers")
def customer_list(
    started: Started,
    request: Request,
    session: SessionDep,
    user: Reader,
    q: str = "",
    tag: str = "",
    owner: str = "",
    store: str = "",
    lifecycle: str = "",
    touchpoint: str = "",
    after: str = "",
) -> Response:
    filters = CustomerFilter(
        q=q.strip()[:200],
        tag_id=_number(tag),
        owner_id=_number(owner),
        store_id=_number(store),
        lifecycle=lifecycle if lifecycle in search.LIFECYCLES else None,
        touchpoint=touchpoint.strip() or None,
    )
    cursor = _number(after)
    page = search.list_customers(session, filters, _viewer(user), after=cursor)
    context = _list_context(filters, cursor, page)
    if _is_results_swap(request):
        response = render(request, "customer_results.html", **context)
    else:
        choices = search.filter_choices(session, _viewer(user))
        response = render(request, "customer_list.html", choices=choices, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return _timed(response, started)


def _list_context(filters: CustomerFilter, cursor: int | None, page: CustomerPage) -> dict:
    return {
        "filters": filters,
        "page": page,
        "after": cursor,
        "results_id": RESULTS,
        "scan_budget": search.SCAN_BUDGET,
        "first_url": "/customers" + (f"?{_query(filters)}" if _query(filters) else ""),
        "next_url": f"/customers?{_query(filters, page.next_after)}" if page.next_after else None,
    }


@router.get("/customers/{ref}")
def customer_page(
    started: Started, ref: str, request: Request, session: SessionDep, user: Reader
) -> Response:
    """The customer 360; any identity value leads to the customer's own address."""
    view = search.customer_view(session, ref, _viewer(user))
    if ref.strip() != str(view["id"]):
        return RedirectResponse(f"/customers/{view['id']}", status_code=303)
    undone = _number(request.query_params.get("undone"))
    response = render(request, "customer_360.html", c=view, undone=undone)
    return _timed(response, started)


@router.post("/customers/merges/{merge_id}/undo")
def undo_merge(merge_id: RowId, session: SessionDep, user: Editor) -> Response:
    record = service.undo_merge(session, merge_id, f"user:{user.email}")
    return RedirectResponse(f"/customers/{record.kept_id}?undone={record.id}", status_code=303)


class CustomerTag(BaseModel):
    """The 360's add-tag form; the tags service says what a name and a group must be."""

    name: Text64
    group: Text40 = "other"


@router.post("/customers/{customer_id}/tags")
def add_tag(
    customer_id: int,
    request: Request,
    # Before the user: the body is read (and cut off at the edge's limit) before signing in,
    # as FastAPI does for Form() parameters.
    form: Annotated[Submission[CustomerTag], posted(CustomerTag)],
    session: SessionDep,
    user: Editor,
) -> Response:
    customer = service.find_customer(session, customer_id)
    if form.data is None:
        return _tag_refused(request, session, user, customer.id, form, 400)
    try:
        tag = tags.ensure_tag(session, form.data.name, form.data.group)
        tags.tag_customer(session, customer.id, tag.id, source="manual")
    except SiyuError as error:
        session.rollback()
        return _tag_refused(request, session, user, customer.id, form.refuse(error), error.status)
    return RedirectResponse(f"/customers/{customer.id}#tags", status_code=303)


def _tag_refused(
    request: Request,
    session: Session,
    user: User,
    customer_id: int,
    form: Submission[CustomerTag],
    status_code: int,
) -> Response:
    view = search.customer_view(session, str(customer_id), _viewer(user))
    return render(request, "customer_360.html", status_code=status_code, c=view, tag_form=form)


@router.post("/customers/{customer_id}/tags/{tag_id}/remove")
def remove_tag(customer_id: RowId, tag_id: RowId, session: SessionDep, user: Editor) -> Response:
    customer = service.find_customer(session, customer_id)
    for member in service.merged_ids(session, customer.id):
        tags.untag_customer(session, member, tag_id)
    return RedirectResponse(f"/customers/{customer.id}#tags", status_code=303)
