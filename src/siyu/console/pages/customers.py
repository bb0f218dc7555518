"""Console pages for customers: the list (search, filters, keyset pages) and the customer 360."""

from __future__ import annotations

import time
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy.orm import Session

from siyu.console.web import allowed, keeps_phone_from, render
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.forms import Submission, one_of, posted, queried
from siyu.core.limits import Cursor, RowId, Text, Text40, Text64, Text200
from siyu.customers import service
from siyu.customers.service import find_visible_customer
from siyu.profiles import search
from siyu.profiles.search import CustomerFilter, CustomerPage, Viewer
from siyu.tags import service as tags
from siyu.tasks import workbench
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


class CustomerQuery(BaseModel):
    """The customer list's filters (a form sent by GET) and the page it continues after."""

    q: Annotated[Text, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    tag: RowId | None = None
    owner: RowId | None = None
    store: RowId | None = None
    lifecycle: Annotated[str, one_of(search.LIFECYCLES)] | None = None
    touchpoint: Text200 | None = None
    after: Cursor | None = None

    def filters(self) -> CustomerFilter:
        return CustomerFilter(
            q=self.q,
            tag_id=self.tag,
            owner_id=self.owner,
            store_id=self.store,
            lifecycle=self.lifecycle,
            touchpoint=self.touchpoint,
        )


FILTERS = ("q", "tag", "owner", "store", "lifecycle", "touchpoint")  # the list's filter fields


class Notice(BaseModel):
    """What the 360 was sent back to say: the merge just undone."""

    undone: RowId | None = None


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
    query: Annotated[Submission[CustomerQuery], queried(CustomerQuery)],
) -> Response:
    if query.data is None:  # nothing is listed; the errors show beside the filters
        filters, cursor = CustomerFilter(), None
        page, status = CustomerPage([], None, cut_short=False, estimated_total=None), 400
    else:
        filters, cursor, status = query.data.filters(), query.data.after, 200
        page = search.list_customers(session, filters, _viewer(user), after=cursor)
    context = _list_context(filters, cursor, page) | {"query": query, "status_code": status}
    context["search_text"] = _search_text(query, filters, user)
    if _is_results_swap(request):  # the filters stay as they are: their errors go above
        # htmx swaps a 2xx answer only, so the errors come with a 200.
        context["status_code"] = 200
        response = render(request, "customer_results.html", beside=(), **context)
    else:
        choices = search.filter_choices(session, _viewer(user))
        shown = FILTERS if choices["owners"] else tuple(f for f in FILTERS if f != "owner")
        response = render(request, "customer_list.html", choices=choices, beside=shown, **context)
    response.headers["Vary"] = "HX-Request, HX-Target"
    return _timed(response, started)


def _search_text(query: Submission[CustomerQuery], filters: CustomerFilter, user: User) -> str:
    """The search box as the page comes back: what was typed, but a guide's phone number only
    masked (a guide never sees a full number on a page, not even one they typed)."""
    typed = str(query.values.get("q", "")) if query.errors else filters.q
    return "" if keeps_phone_from(user, typed) else typed


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
    started: Started,
    ref: str,
    request: Request,
    session: SessionDep,
    user: Reader,
    notice: Annotated[Submission[Notice], queried(Notice)],
) -> Response:
    """The customer 360; any identity value leads to the customer's own address."""
    view = search.customer_view(session, ref, _viewer(user))
    if ref.strip() != str(view["id"]):
        return RedirectResponse(f"/customers/{view['id']}", status_code=303)
    undone = notice.data.undone if notice.data else None
    notes = workbench.notes_of(session, view["id"])
    response = render(request, "customer_360.html", c=view, undone=undone, notes=notes)
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
    notes = workbench.notes_of(session, view["id"])
    return render(
        request, "customer_360.html", status_code=status_code, c=view, tag_form=form, notes=notes
    )


class CustomerNoteForm(BaseModel):
    """The 360's note form."""

    body: Text


@router.post("/customers/{customer_id}/notes")
def add_note(
    customer_id: RowId,
    request: Request,
    form: Annotated[Submission[CustomerNoteForm], posted(CustomerNoteForm)],
    session: SessionDep,
    user: Annotated[User, allowed("customers.note")],
) -> Response:
    """A note on a customer (a guide: one of theirs): the brand's doing, not the customer's."""
    customer = find_visible_customer(session, customer_id, user.role, user.staff_id)
    if form.data is None:
        return _note_refused(request, session, user, customer.id, form, 400)
    try:
        workbench.add_note(
            session,
            customer.id,
            form.data.body,
            f"user:{user.email}",
            role=user.role,
            staff_id=user.staff_id,
        )
    except SiyuError as error:
        session.rollback()
        return _note_refused(request, session, user, customer.id, form.refuse(error), error.status)
    return RedirectResponse(f"/customers/{customer.id}#notes", status_code=303)


@router.post("/customers/{customer_id}/tags/{tag_id}/remove")
def remove_tag(customer_id: RowId, tag_id: RowId, session: SessionDep, user: Editor) -> Response:
    customer = service.find_customer(session, customer_id)
    for member in service.merged_ids(session, customer.id):
        tags.untag_customer(session, member, tag_id)
    return RedirectResponse(f"/customers/{customer.id}#tags", status_code=303)


def _note_refused(
    request: Request,
    session: Session,
    user: User,
    customer_id: int,
    form: Submission[CustomerNoteForm],
    status_code: int,
) -> Response:
    view = search.customer_view(session, str(customer_id), _viewer(user))
    notes = workbench.notes_of(session, customer_id)
    return render(
        request, "customer_360.html", status_code=status_code, c=view, notes=notes, note_form=form
    )
