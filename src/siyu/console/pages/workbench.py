"""The guide's workbench (导购工作台): their own customers, filtered by lifecycle stage, last order
and tag, each a card to act on; their loss alerts; and how many tasks wait. Phone first."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from siyu.console.pages.wecom import LOSS_KINDS
from siyu.console.web import N_, allowed, render
from siyu.core.deps import SessionDep
from siyu.core.forms import Submission, one_of, queried
from siyu.core.limits import Cursor, RowId
from siyu.core.settings import get_settings
from siyu.profiles import search
from siyu.profiles.search import CustomerFilter, Viewer
from siyu.tags import service as tags
from siyu.tasks import service as tasks
from siyu.tasks import workbench
from siyu.users.models import User
from siyu.wecom import jssdk
from siyu.wecom import service as wecom

router = APIRouter(include_in_schema=False)
Guide = Annotated[User, allowed("workbench.view")]

LAST_ORDER_LABELS = {
    "30d": N_("Within 30 days"),
    "90d": N_("Within 90 days"),
    "180d": N_("Within 180 days"),
    "over_180d": N_("More than 180 days ago"),
    "never": N_("Never ordered"),
}
ALERTS_SHOWN = 10
SILENT_COUNTED = 200  # "200+" beyond: a guide's own customers, counted a page at a time


class MineQuery(BaseModel):
    """The workbench's filters (a form sent by GET) and the page it continues after."""

    lifecycle: Annotated[str, one_of(search.LIFECYCLES)] | None = None
    last_order: Annotated[str, one_of(search.LAST_ORDERS)] | None = None
    tag: RowId | None = None
    after: Cursor | None = None

    def filters(self) -> CustomerFilter:
        return CustomerFilter(tag_id=self.tag, lifecycle=self.lifecycle, last_order=self.last_order)


def chat_context(request: Request) -> dict:
    """Inside WeCom's browser, with WeCom's app configured: the JS-SDK and this page's signature,
    so the cards can open the chat with a customer. Elsewhere nothing: the copy button is it."""
    if "wxwork" not in request.headers.get("user-agent", "").lower():
        return {"wecom_chat": False}
    query = f"?{request.url.query}" if request.url.query else ""
    page = get_settings().public_base(str(request.base_url)) + request.url.path + query
    signature = jssdk.sign_page(page)
    if signature is None:
        return {"wecom_chat": False}
    return {"wecom_chat": True, "wecom_sdks": jssdk.SDKS, "wecom_signature": asdict(signature)}


def _address(filters: CustomerFilter, after: int | None = None) -> str:
    fields = {
        "lifecycle": filters.lifecycle,
        "last_order": filters.last_order,
        "tag": filters.tag_id,
        "after": after,
    }
    query = urlencode({k: v for k, v in fields.items() if v not in (None, "")})
    return "/workbench" + (f"?{query}" if query else "")


@router.get("/workbench")
def workbench_page(
    request: Request,
    session: SessionDep,
    user: Guide,
    query: Annotated[Submission[MineQuery], queried(MineQuery)],
) -> Response:
    if user.staff_id is None:  # a guide user not linked to a guide has no customers
        return RedirectResponse("/customers", status_code=303)
    viewer = Viewer(role="guide", staff_id=user.staff_id)
    status, filters, after = 400, CustomerFilter(), None
    if query.data is not None:
        status, filters, after = 200, query.data.filters(), query.data.after
    page = search.list_customers(session, filters, viewer, after=after)
    silent = search.list_customers(
        session, CustomerFilter(lifecycle="silent"), viewer, size=SILENT_COUNTED
    )
    return render(
        request,
        "workbench.html",
        status_code=status,
        query=query,
        filters=filters,
        page=page,
        after=after,
        cards=workbench.named_cards(session, {r.id: r.name for r in page.rows}),
        tag_choices=tags.all_tags(session),
        lifecycles=search.LIFECYCLES,
        last_orders=LAST_ORDER_LABELS,
        alerts=wecom.loss_alerts(session, user.staff_id, limit=ALERTS_SHOWN),
        loss_kinds=LOSS_KINDS,
        silent_count=len(silent.rows),
        silent_more=silent.next_after is not None,
        open_tasks=len(tasks.open_tasks_of(session, user.staff_id)),
        next_url=_address(filters, page.next_after) if page.next_after else None,
        first_url=_address(filters),
        silent_url=_address(CustomerFilter(lifecycle="silent")),
        **chat_context(request),
    )
