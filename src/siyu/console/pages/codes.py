"""Channel code pages: the codes with their numbers, a code's QR, routing and chart, batches.

The registry comes from OLTP; every number comes from the lake (`console/numbers.py`).
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated
from urllib.parse import urlsplit

from annotated_types import Ge, Le
from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, StringConstraints
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.datastructures import FormData
from wechatpy.exceptions import WeChatClientException

from siyu.codes import batch as batches
from siyu.codes import service
from siyu.codes.models import KINDS, TARGET_KINDS, WEEKDAYS, ChannelCode, CodeBatch
from siyu.codes.qr import PRINT_PX, qr_png, qr_svg
from siyu.console.dashboard import PERIODS, chosen_period, pinned_end
from siyu.console.numbers import Numbers, numbers
from siyu.console.web import N_, allowed, gettext, render, request_locale
from siyu.core import csvsafe
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import NotFound, PlatformRefused, SiyuError
from siyu.core.forms import FieldError, Submission, one_of, posted, read_form
from siyu.core.limits import RowId, Text, Text40, Text64, Text200
from siyu.core.settings import get_settings
from siyu.staff.models import Staff, Store
from siyu.touchpoints.models import Touchpoint
from siyu.users.models import User
from siyu.wechat.models import SceneQrCode
from siyu.wechat.service import create_scene_qr
from siyu.wecom.errors import OFFICIAL_ACCOUNT, WECOM, explain
from siyu.wecom.models import ContactWay
from siyu.wecom.service import create_contact_way

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("codes.view")]
Manager = Annotated[User, allowed("codes.manage")]

KIND_LABELS = {
    "store": N_("Store"),
    "guide": N_("Shopping guide"),
    "poster": N_("Poster"),
    "product_item": N_("Product code"),
    "group": N_("Customer group"),
    "other": N_("Other"),
}
TARGET_LABELS = {
    "wecom_contact_way": N_("WeCom contact way"),
    "official_account_qr": N_("Official-account QR code"),
    "mini_program": N_("Mini-program path"),
    "url": N_("Web page"),
}
WEEKDAY_LABELS = (N_("Mon"), N_("Tue"), N_("Wed"), N_("Thu"), N_("Fri"), N_("Sat"), N_("Sun"))


@dataclass(frozen=True)
class CodeRow:
    code: ChannelCode
    touchpoint: str
    store: str | None
    staff: str | None
    numbers: Numbers


def base_url(request: Request) -> str:
    """Where QR codes point: SIYU_PUBLIC_URL, else the address this page was opened at."""
    return get_settings().public_base(str(request.base_url))


def _registry(session: Session) -> list[tuple[ChannelCode, str, str | None, str | None]]:
    rows = session.execute(
        select(ChannelCode, Touchpoint.code, Store.name, Staff.name)
        .join(Touchpoint, Touchpoint.id == ChannelCode.touchpoint_id)
        .outerjoin(Store, Store.id == ChannelCode.store_id)
        .outerjoin(Staff, Staff.id == ChannelCode.staff_id)
        .where(ChannelCode.batch_id.is_(None))
        .order_by(ChannelCode.id.desc())
        .limit(500)
    )
    return list(rows)


def code_rows(session: Session, period) -> list[CodeRow]:
    found = numbers(period)
    return [
        CodeRow(code, touchpoint, store, staff, found.get(code.code, Numbers()))
        for code, touchpoint, store, staff in _registry(session)
    ]


def _choices(session: Session) -> dict:
    return {
        "stores": list(session.scalars(select(Store).order_by(Store.code))),
        "guides": list(
            session.scalars(select(Staff).where(Staff.status == "active").order_by(Staff.name))
        ),
    }


def _by_store(guides: list[Staff], stores: list[Store]) -> list[tuple[Store | None, list[Staff]]]:
    """The routing table's guides under their stores (by code), those without a store last."""
    groups: list[tuple[Store | None, list[Staff]]] = [
        (store, [g for g in guides if g.store_id == store.id]) for store in stores
    ]
    known = {store.id for store in stores}
    groups.append((None, [g for g in guides if g.store_id not in known]))
    return [(store, members) for store, members in groups if members]


def _list_page(request, session, period, end, status_code=200, **context):
    return render(
        request,
        "codes_list.html",
        status_code=status_code,
        rows=code_rows(session, period),
        period=period,
        end=end,
        periods=PERIODS,
        kinds=KINDS,
        kind_labels=KIND_LABELS,
        target_kinds=TARGET_KINDS,
        target_labels=TARGET_LABELS,
        unconnected={k: m for k in TARGET_KINDS if (m := service.missing_settings(k))},
        batches=batches.list_batches(session, 10),
        **_choices(session),
        **context,
    )


@router.get("/codes", response_class=HTMLResponse)
def codes_page(
    request: Request,
    session: SessionDep,
    _: Viewer,
    period: str | None = None,
    end: str | None = None,
):
    chosen = chosen_period(period, end)
    return _list_page(request, session, chosen, pinned_end(chosen, end))


class NewCode(BaseModel):
    """The new-code form on the codes page."""

    name: Text200
    code: Text64 = ""
    kind: Annotated[str, one_of(KINDS)] = "poster"
    store_id: RowId | None = None
    staff_id: RowId | None = None
    target_kind: Annotated[str, one_of(TARGET_KINDS)] = "url"
    target: Annotated[Text, StringConstraints(max_length=1000)] = ""
    tags: Text = ""
    welcome: Text = ""


@router.post("/codes", response_class=HTMLResponse)
def create_code(
    request: Request,
    session: SessionDep,
    _: Manager,
    form: Annotated[Submission[NewCode], posted(NewCode)],
):
    if form.data is None:
        return _list_page(request, session, chosen_period(None, None), None, 400, form=form)
    new = form.data
    try:
        made = service.create_code(
            session,
            new.name,
            code=new.code.strip() or None,
            kind=new.kind,
            store_id=new.store_id,
            staff_id=new.staff_id,
            target_kind=new.target_kind,
            target=new.target,
            tag_names=new.tags.replace("，", ",").split(","),
            welcome_message=new.welcome,
            routes=[service.Route(new.staff_id)] if new.staff_id else [],
        )
    except SiyuError as error:
        session.rollback()
        chosen = chosen_period(None, None)
        return _list_page(request, session, chosen, None, error.status, form=form.refuse(error))
    return RedirectResponse(f"/codes/{made.code}?done=created", status_code=303)


def _code_or_404(session: Session, code: str) -> ChannelCode:
    found = service.find_code(session, code)
    if found is None:
        raise NotFound(N_("no such channel code"), field="code")
    return found


@router.get("/codes/{code}", response_class=HTMLResponse)
def code_page(
    request: Request,
    session: SessionDep,
    _: Viewer,
    code: str,
    period: str | None = None,
    end: str | None = None,
    done: str = "",
):
    channel = _code_or_404(session, code)
    chosen = chosen_period(period, end)
    found = numbers(chosen, key=channel.code).get(channel.code, Numbers())
    return _code_page(request, session, channel, chosen, pinned_end(chosen, end), found, done=done)


def _code_page(request, session, channel, period, end, found, status_code=200, **context):
    routes = service.routes_of(session, channel.id)
    choices = _choices(session)
    staff = {s.id: s for s in choices["guides"]}
    url = service.landing_url(base_url(request), channel.code)
    return render(
        request,
        "code_detail.html",
        status_code=status_code,
        channel=channel,
        touchpoint=session.get(Touchpoint, channel.touchpoint_id),
        store=session.get(Store, channel.store_id) if channel.store_id else None,
        owner=session.get(Staff, channel.staff_id) if channel.staff_id else None,
        url=url,
        routes={r.staff_id: r for r in routes},
        guides=staff,
        route_groups=_by_store(choices["guides"], choices["stores"]),
        period=period,
        end=end,
        periods=PERIODS,
        found=found,
        chart=_chart(found, period, request, request.state.user),
        kind_labels=KIND_LABELS,
        target_labels=TARGET_LABELS,
        weekday_labels=WEEKDAY_LABELS,
        missing=service.missing_settings(channel.target_kind),
        not_connected=NOT_CONNECTED.get(channel.target_kind),
        is_local=_is_local(url),
        contact_way=session.scalar(select(ContactWay).where(ContactWay.code == channel.code)),
        scene_qr=session.scalar(select(SceneQrCode).where(SceneQrCode.code == channel.code)),
        **context,
    )


def _is_local(url: str) -> bool:
    """A QR code pointing here cannot be opened by a customer's phone."""
    host = urlsplit(url).hostname or ""
    return host in ("localhost", "127.0.0.1", "::1", "0.0.0.0") or host.endswith(".local")


def _chart(found: Numbers, period, request, user) -> dict:
    _ = gettext(request_locale(request, user))
    series = found.series(period)
    return {
        "days": [d.isoformat() for d in period.dates()],
        "series": series,
        "labels": {
            "scans": _("Scans"),
            "contacts": _("New contacts"),
            "deletions": _("Deletions"),
            "gmv": _("GMV"),
        },
    }


@router.post("/codes/{code}/routes", response_class=HTMLResponse)
def save_routes(request: Request, session: SessionDep, _: Manager, code: str, form: FormDep):
    channel = _code_or_404(session, code)
    routing = _routes_from(form)
    chosen = chosen_period(None, None)
    if routing.data is None:
        return _code_page(request, session, channel, chosen, None, Numbers(), 400, routing=routing)
    try:
        service.set_routes(session, channel, routing.data)
    except SiyuError as error:
        session.rollback()
        shown = FieldError.of(error)
        return _code_page(
            request, session, channel, chosen, None, Numbers(), error.status, error=shown
        )
    return RedirectResponse(f"/codes/{channel.code}?done=routes", status_code=303)


@router.post("/codes/{code}/contact-way", response_class=HTMLResponse)
def make_contact_way(request: Request, session: SessionDep, _: Manager, code: str):
    """WeCom's 联系我 QR code for this code's guides (state = the code), as `siyu wecom
    contact-way` makes it; a code that opens a contact way then redirects a scan to it."""
    return _make_on_platform(
        request, session, code, create_contact_way, "wecom_contact_way", "contact-way"
    )


@router.post("/codes/{code}/scene-qr", response_class=HTMLResponse)
def make_scene_qr(request: Request, session: SessionDep, _: Manager, code: str):
    """The official account's permanent scene QR code (scene = the code), as `siyu wechat qr`."""
    return _make_on_platform(
        request, session, code, create_scene_qr, "official_account_qr", "scene-qr"
    )


# A code's target kind → the platform that makes its QR code, and what to say while it is not
# connected (the code's page says it too).
PLATFORMS = {"wecom_contact_way": WECOM, "official_account_qr": OFFICIAL_ACCOUNT}
NOT_CONNECTED = {
    "wecom_contact_way": N_(
        "WeCom is not connected: set %(settings)s in Siyu's environment, then restart it."
    ),
    "official_account_qr": N_(
        "The official account is not connected: set %(settings)s in Siyu's environment, "
        "then restart it."
    ),
}


def _make_on_platform(request, session, code: str, make, target_kind: str, done: str):
    channel = _code_or_404(session, code)
    refused = _not_connected(target_kind)  # first: the guides' UserIDs matter only once it is
    if refused is None:
        try:
            make(session, channel.code)  # what the platform gave back, committed with the request
        except (SiyuError, WeChatClientException) as failure:
            session.rollback()
            refused = _explained(PLATFORMS[target_kind], failure)
    if refused is not None:
        shown, status = refused
        chosen = chosen_period(None, None)
        return _code_page(request, session, channel, chosen, None, Numbers(), status, error=shown)
    return RedirectResponse(f"/codes/{channel.code}?done={done}", status_code=303)


def _explained(platform: str, failure: Exception) -> tuple[FieldError, int]:
    """Why the platform could not make it, in the console's language, and the page's status."""
    if isinstance(failure, WeChatClientException):
        meaning = explain(platform, failure.errcode, failure.errmsg)
        return FieldError(meaning.message, meaning.params), PlatformRefused.status
    assert isinstance(failure, SiyuError)
    return FieldError(failure.message), failure.status


def _not_connected(target_kind: str) -> tuple[FieldError, int] | None:
    """The platform's API settings this site lacks, as the page's error (503), if any."""
    unset = service.missing_settings(target_kind, api_only=True)
    if not unset:
        return None
    return FieldError(NOT_CONNECTED[target_kind], {"settings": ", ".join(unset)}), 503


class RoutedGuides(BaseModel):
    """Which guides the routing form ticked."""

    guide: list[RowId] = []


class RouteRow(BaseModel):
    """One guide's row in the routing form (its inputs are named g<staff id>-<field>)."""

    weight: Annotated[int, Ge(1), Le(1000)] = 1
    weekday: list[Annotated[str, one_of(tuple(WEEKDAYS))]] = []
    start: time | None = None
    end: time | None = None
    limit: Annotated[int, Ge(0), Le(1_000_000)] | None = None
    backup: bool = False


def _routes_from(form: FormData) -> Submission[list[service.Route]]:
    """The routing form as routes, or every row's errors under its inputs' names."""
    ticked = read_form(RoutedGuides, form)
    rows = {g: read_form(RouteRow, form, f"g{g}-") for g in (ticked.data or RoutedGuides()).guide}
    errors = ticked.errors | {k: v for row in rows.values() for k, v in row.errors.items()}
    if errors:
        return Submission(ticked.values, errors=errors, lists=ticked.lists)
    routes = [_route(g, row.data) for g, row in rows.items() if row.data]
    return Submission(ticked.values, data=routes, lists=ticked.lists)


def _route(staff_id: int, row: RouteRow) -> service.Route:
    return service.Route(
        staff_id,
        weight=row.weight,
        weekdays="".join(sorted(set(row.weekday))) or WEEKDAYS,
        start_time=row.start.strftime("%H:%M") if row.start else None,
        end_time=row.end.strftime("%H:%M") if row.end else None,
        daily_limit=row.limit,
        is_backup=row.backup,
    )


@router.get("/codes/{code}/qr.svg")
def code_svg(request: Request, session: SessionDep, _: Viewer, code: str, download: int = 0):
    channel = _code_or_404(session, code)
    body = qr_svg(service.landing_url(base_url(request), channel.code))
    return _image(body, "image/svg+xml", f"{channel.code}.svg", download)


@router.get("/codes/{code}/qr.png")
def code_png(
    request: Request,
    session: SessionDep,
    _: Viewer,
    code: str,
    download: int = 0,
    size: Annotated[int, Ge(300), Le(6000)] = PRINT_PX,
):
    """The QR as a PNG at least `size` pixels wide (1,200 by default: 10 cm at 300 dpi)."""
    channel = _code_or_404(session, code)
    body = qr_png(service.landing_url(base_url(request), channel.code), size)
    return _image(body, "image/png", f"{channel.code}.png", download)


def _image(body: bytes, media_type: str, name: str, download: int) -> Response:
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if download else {}
    return Response(body, media_type=media_type, headers=headers)


CSV_COLUMNS = (
    N_("Code"),
    N_("Name"),
    N_("Touchpoint"),
    N_("Scans"),
    N_("New contacts"),
    N_("Contact rate"),
    N_("Deletions"),
    N_("Orders"),
    N_("GMV (yuan)"),
)


@router.get("/codes.csv")
def codes_csv(
    request: Request,
    session: SessionDep,
    user: Viewer,
    period: str | None = None,
    end: str | None = None,
):
    chosen = chosen_period(period, end)
    _ = gettext(request_locale(request, user))
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow([_(c) for c in CSV_COLUMNS])
    for row in code_rows(session, chosen):
        n = row.numbers
        rate = f"{n.contact_rate:.4f}" if n.contact_rate is not None else ""
        writer.writerow(
            [
                row.code.code,
                row.code.name,
                row.touchpoint,
                n.scans,
                n.contacts,
                rate,
                n.deletions,
                n.orders,
                f"{Decimal(n.gmv_fen) / 100:.2f}",
            ]
        )
    name = f"codes-{chosen.start.isoformat()}-{chosen.end.isoformat()}.csv"
    return _csv(buffer.getvalue(), name)


@router.get("/codes/{code}/numbers.csv")
def code_csv(
    request: Request,
    session: SessionDep,
    user: Viewer,
    code: str,
    period: str | None = None,
    end: str | None = None,
):
    channel = _code_or_404(session, code)
    chosen = chosen_period(period, end)
    found = numbers(chosen, key=channel.code).get(channel.code, Numbers())
    _ = gettext(request_locale(request, user))
    buffer = io.StringIO()
    writer = csvsafe.writer(buffer)
    writer.writerow(
        [
            _(c)
            for c in (
                N_("Day"),
                N_("Scans"),
                N_("New contacts"),
                N_("Deletions"),
                N_("Orders"),
                N_("GMV (yuan)"),
            )
        ]
    )
    series = found.series(chosen)
    for i, day in enumerate(chosen.dates()):
        writer.writerow(
            [
                day.isoformat(),
                series["scans"][i],
                series["contacts"][i],
                series["deletions"][i],
                series["orders"][i],
                f"{Decimal(series['gmv_fen'][i]) / 100:.2f}",
            ]
        )
    return _csv(buffer.getvalue(), f"code-{channel.code}-{chosen.start}-{chosen.end}.csv")


def _csv(text: str, name: str) -> Response:
    return Response(
        "\ufeff" + text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


# --- one-item-one-code batches ------------------------------------------------------------


class NewBatch(BaseModel):
    """The one-item-one-code batch form on the codes page."""

    name: Text200
    prefix: Text40
    count: Annotated[int, Ge(1), Le(batches.MAX_CODES)]
    target: Annotated[Text, StringConstraints(max_length=1000)] = ""


@router.post("/codes/batches", response_class=HTMLResponse)
def create_batch(
    request: Request,
    session: SessionDep,
    _: Manager,
    batch: Annotated[Submission[NewBatch], posted(NewBatch)],
):
    if batch.data is None:
        return _list_page(request, session, chosen_period(None, None), None, 400, batch=batch)
    new = batch.data
    try:
        made = batches.create_batch(
            session, new.name, new.prefix.strip(), new.count, target=new.target.strip()
        )
        batches.enqueue_archive(session, made, base_url(request))
    except SiyuError as error:
        session.rollback()
        chosen = chosen_period(None, None)
        return _list_page(request, session, chosen, None, error.status, batch=batch.refuse(error))
    return RedirectResponse("/codes?done=batch#batches", status_code=303)


def _batch_or_404(session: Session, batch_id: int) -> CodeBatch:
    found = session.get(CodeBatch, batch_id)
    if found is None:
        raise NotFound(N_("no such batch"), field="batch_id")
    return found


@router.get("/codes/batches/{batch_id}/progress", response_class=HTMLResponse)
def batch_progress(request: Request, session: SessionDep, _: Viewer, batch_id: RowId):
    return render(request, "codes_batch_row.html", b=_batch_or_404(session, batch_id))


@router.get("/codes/batches/{batch_id}/download")
def batch_download(session: SessionDep, _: Viewer, batch_id: RowId):
    found = _batch_or_404(session, batch_id)
    if found.status != "done" or not found.archive or not Path(found.archive).exists():
        raise NotFound(N_("the ZIP is not ready yet"), field="batch_id")
    return FileResponse(
        found.archive, media_type="application/zip", filename=Path(found.archive).name
    )
