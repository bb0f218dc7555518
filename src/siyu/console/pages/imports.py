"""Imports page: upload a file, map its columns over a preview, check it, import it as a job."""

from __future__ import annotations

import re
from functools import cache
from typing import Annotated, Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse
from pydantic import BaseModel, Field, create_model
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from siyu.console.web import N_, allowed, gettext, render, request_locale
from siyu.core.deps import FormDep, SessionDep
from siyu.core.errors import NotFound, SiyuError
from siyu.core.forms import Submission, one_of, posted, read_form
from siyu.core.limits import Text, Text200
from siyu.imports import jobs
from siyu.imports.jobs import BadRow, ImportRecord, MappingChoice
from siyu.imports.mapping import CUSTOMER_ID_TYPES, CUSTOMER_IDENTITIES
from siyu.users.models import User

router = APIRouter(include_in_schema=False)
Viewer = Annotated[User, allowed("imports.view")]
Runner = Annotated[User, allowed("imports.run")]

KINDS = {
    "customers": N_("Customers"),
    "orders": N_("Orders"),
    "events": N_("Events"),
}
KIND_HINTS = {
    "customers": N_(
        "CSV or XLSX: user ID, phone, email, member number …; other columns become traits"
    ),
    "orders": N_("CSV or XLSX: order number, customer, paid at, amount; Youzan and Taobao exports"),
    "events": N_("JSONL: one Segment message a line"),
}
STATUSES = {
    "uploaded": N_("Not checked yet"),
    "checking": N_("Checking"),
    "checked": N_("Checked"),
    "importing": N_("Importing"),
    "done": N_("Imported"),
    "stopped": N_("Stopped: bad rows"),
    "failed": N_("Failed"),
}
STAGES = {"checking": N_("Checking rows"), "importing": N_("Importing rows")}
FIELDS = {
    "order_id": N_("Order number"),
    "customer_id": N_("Customer"),
    "paid_at": N_("Paid at"),
    "amount": N_("Amount paid (yuan)"),
    "refunded_at": N_("Refunded at"),
    "refund_amount": N_("Refund amount (yuan)"),
    "product": N_("Product"),
    "category": N_("Category"),
    "store": N_("Store"),
    "touchpoint": N_("Touchpoint"),
    "currency": N_("Currency"),
    "user_id": N_("User ID"),
    "member_id": N_("Member number"),
    "wechat_unionid": N_("WeChat UnionID"),
    "phone": N_("Mobile phone"),
    "email": N_("Email"),
    "wecom_external_userid": N_("WeCom external contact ID"),
    "wechat_openid": N_("WeChat OpenID"),
    "name": N_("Name"),
    "created_at": N_("Joined at"),
}
FORM_FIELDS = {
    "file": N_("File"),
    "kind": N_("What the file holds"),
    "identity": N_("Identities"),
    "customer_id_type": N_("The customer column holds"),
    "skip": N_("Rows to pass over"),
    "check": N_("Check"),
    "mapping": N_("Mapping"),
    "sheet": N_("Sheet"),
}
ID_TYPES = {
    "auto": N_("Any identity, else a Siyu customer ID (detect)"),
    "siyu": N_("Siyu customer IDs"),
    "user_id": N_("The brand's own user IDs"),
    "member_id": N_("Member numbers"),
    "wechat_unionid": N_("WeChat UnionIDs"),
    "phone": N_("Mobile phones"),
    "email": N_("Emails"),
    "wecom_external_userid": N_("WeCom external contact IDs"),
    "wechat_openid": N_("WeChat OpenIDs"),
    "anonymous_id": N_("Anonymous IDs"),
}
# The import service's reasons (English) in words that have a translation; others shown as is.
_Q = r"""['"](?P<value>.*)['"]"""
REASONS = (
    (rf"{_Q} is not an amount", N_("“%(value)s” is not an amount")),
    (r"an amount is required", N_("an amount is required")),
    (rf"{_Q} is not a non-negative amount", N_("“%(value)s” is a negative amount")),
    (rf"{_Q} is in the future", N_("“%(value)s” is in the future")),
    (r"a time is required", N_("a time is required")),
    (rf"{_Q} is not a time \(.*\)", N_("“%(value)s” is not a time (e.g. 2026-11-11 10:00:00)")),
    (rf"{_Q} is not a mobile number", N_("“%(value)s” is not a mobile number")),
    (rf"{_Q} is not an email address", N_("“%(value)s” is not an email address")),
    (
        rf"{_Q} cannot identify a customer \(as (?P<kind>\w+)\)",
        N_("“%(value)s” cannot identify a customer (as %(kind)s)"),
    ),
    (r"an order id is required", N_("an order number is required")),
    (r"an order id has at most 128 characters", N_("an order number has at most 128 characters")),
    (
        rf"order {_Q} is on row (?P<row>\d+) already",
        N_("order “%(value)s” is on row %(row)s already"),
    ),
    (r"a customer id is required", N_("a customer is required")),
    (rf"{_Q} is not a Siyu customer id", N_("“%(value)s” is not a Siyu customer ID")),
    (r"a refund needs its time \(refunded_at\)", N_("a refund needs its time (refunded_at)")),
    (
        r"the refund (?P<value>\S+) is more than the order",
        N_("the refund %(value)s is more than the order"),
    ),
    (
        r"nothing identifies the customer \(give one of (?P<names>.*)\)",
        N_("nothing identifies the customer (give one of %(names)s)"),
    ),
    (r"not JSON \((?P<detail>.*)\)", N_("not JSON (%(detail)s)")),
    (
        r"a line must be a JSON object \(one Segment message\)",
        N_("a line must be a JSON object (one Segment message)"),
    ),
    (
        r"neither userId nor anonymousId can identify anyone.*",
        N_("neither userId nor anonymousId can identify anyone"),
    ),
)


def problem(error: SiyuError) -> dict:
    """A form error as the page shows it: the field's label (and name) and what to do."""
    name = error.field or ""
    label = FIELDS.get(name) or FORM_FIELDS.get(name)
    code = name if name in FIELDS else None
    return {"field": error.field, "label": label, "code": code, "message": error.message}


def say_reason(reason: str, locale: str) -> str:
    """A bad row's reason in the page's language, where the reason is one the service gives."""
    translate = gettext(locale)
    for pattern, message in REASONS:
        found = re.fullmatch(pattern, reason)
        if found:
            return translate(message) % found.groupdict()
    return reason


# --- the list and the upload ----------------------------------------------------------------


def _home(request: Request, session: Session, status_code: int = 200, **context):
    return render(
        request,
        "imports_home.html",
        status_code,
        imports=jobs.past_imports(session),
        kinds=KINDS,
        kind_hints=KIND_HINTS,
        statuses=STATUSES,
        **context,
    )


@router.get("/imports", response_class=HTMLResponse)
def imports_home(request: Request, session: SessionDep, _: Viewer):
    return _home(request, session)


class Upload(BaseModel):
    """The upload form's choice (the file itself comes beside it)."""

    kind: Annotated[str, one_of(KINDS)]


@router.post("/imports", response_class=HTMLResponse)
def upload(
    request: Request,
    # Before the user: the body is read (and cut off at the edge's limit) before signing in,
    # as FastAPI does for File() parameters.
    form: FormDep,
    session: SessionDep,
    user: Runner,
):
    sent = read_form(Upload, form)
    file = form.get("file")
    if sent.data is None:
        return _home(request, session, 400, upload=sent)
    name, stream = (file.filename or "", file.file) if isinstance(file, UploadFile) else ("", None)
    try:
        record = jobs.store_upload(session, sent.data.kind, name, stream, user.email)
    except SiyuError as error:
        session.rollback()
        return _home(request, session, error.status, upload=sent.refuse(error))
    return RedirectResponse(f"/imports/{record.id}", status_code=303)


# --- one import -----------------------------------------------------------------------------


def _detail(
    request: Request, session: Session, record: ImportRecord, status_code: int = 200, **context
):
    locale = request_locale(request, request.state.user)
    bad = [BadRow(b.row, b.column, say_reason(b.reason, locale)) for b in jobs.bad_rows(record)]
    return render(
        request,
        "import_detail.html",
        status_code,
        record=record,
        preview=record.preview,
        samples=record.preview.samples(),
        fields=jobs.FIELDS[record.kind],
        shown=[f"column.{name}" for name in jobs.FIELDS[record.kind]] + list(SHOWN_BESIDE),
        field_labels=FIELDS,
        identities=CUSTOMER_IDENTITIES,
        id_types=[(t, ID_TYPES.get(t, t)) for t in CUSTOMER_ID_TYPES],
        others=_others(record),
        kinds=KINDS,
        statuses=STATUSES,
        stages=STAGES,
        latest=record.latest,
        bad_rows=bad,
        **context,
    )


def _others(record: ImportRecord) -> list[str]:
    """Customers: the columns no field takes, which become traits unless left out."""
    if record.kind != "customers":
        return []
    taken = set(record.columns.values())
    return [c for c in record.header if c and c not in taken and not c.startswith("_")]


@router.get("/imports/{import_id}", response_class=HTMLResponse)
def import_detail(request: Request, session: SessionDep, import_id: str, _: Viewer):
    return _detail(request, session, jobs.current(session, import_id))


@router.get("/imports/{import_id}/progress", response_class=HTMLResponse)
def import_progress(request: Request, session: SessionDep, import_id: str, _: Viewer):
    """Polled every second while a job runs; when it ends, the page reloads to show the result."""
    record = jobs.current(session, import_id)
    response = render(
        request, "import_progress.html", record=record, stages=STAGES, statuses=STATUSES
    )
    if not record.is_running:
        response.headers["HX-Refresh"] = "true"
    return response


class Mapping(BaseModel):
    """The mapping form beside its columns: how the customer column is read (orders), the rows
    to pass over (orders) and the columns left out of the traits (customers)."""

    customer_id_type: Annotated[str, one_of(CUSTOMER_ID_TYPES)] = "auto"
    skip_column: Text200 = ""
    skip_values: Text = ""
    ignore: list[Text200] = []

    def choice(self, kind: str) -> MappingChoice:
        columns = {name: getattr(self, name) for name in jobs.FIELDS[kind]}
        return MappingChoice(
            columns=columns,
            customer_id_type=self.customer_id_type,
            skip_column=self.skip_column,
            skip_values=self.skip_values,
            ignore=self.ignore,
        )


@cache
def mapping_form(kind: str) -> type[Mapping]:
    """The mapping form of an import kind: a `column.<field>` select for each of its fields."""
    columns: dict[str, Any] = {
        name: (Text200, Field("", alias=f"column.{name}")) for name in jobs.FIELDS[kind]
    }
    return create_model(f"{kind.title()}Mapping", __base__=Mapping, **columns)


# Where the import service's fields are on the mapping form.
FORM_FIELD = {"skip": "skip_column", "customer_id_type": "customer_id_type"}
SHOWN_BESIDE = ("customer_id_type", "skip_column", "skip_values")  # errors beside these fields


def _refused(request: Request, session: Session, import_id: str, error: SiyuError, **context):
    """Nothing of a refused form is kept; the page comes back with the error and the input."""
    session.rollback()
    record = jobs.current(session, import_id)
    mapping: Submission | None = context.get("mapping")
    name = error.field or ""
    name = f"column.{name}" if name in jobs.FIELDS[record.kind] else FORM_FIELD.get(name, "")
    if mapping is not None:  # beside its field, or atop the mapping when it names none shown
        mapping.refuse(error, name)
    else:
        context["error"] = problem(error)
    return _detail(request, session, record, error.status, **context)


@router.post("/imports/{import_id}/check", response_class=HTMLResponse)
def check(request: Request, session: SessionDep, import_id: str, _: Runner, form: FormDep):
    record = jobs.current(session, import_id)
    sent = read_form(mapping_form(record.kind), form)
    if sent.data is None:
        return _detail(request, session, record, 400, mapping=sent)
    try:
        jobs.start_check(session, record, sent.data.choice(record.kind))
    except SiyuError as error:
        if isinstance(error, NotFound):
            raise
        return _refused(request, session, import_id, error, mapping=sent)
    return RedirectResponse(f"/imports/{import_id}", status_code=303)


class Run(BaseModel):
    """The run form: all or nothing, or skip the bad rows."""

    skip_bad: bool = False


@router.post("/imports/{import_id}/run", response_class=HTMLResponse)
def run(
    request: Request,
    session: SessionDep,
    import_id: str,
    _: Runner,
    form: Annotated[Submission[Run], posted(Run)],
):
    record = jobs.current(session, import_id)
    if form.data is None:
        return _detail(request, session, record, 400, run=form)
    try:
        jobs.start_run(session, record, form.data.skip_bad)
    except SiyuError as error:
        return _refused(request, session, import_id, error)
    return RedirectResponse(f"/imports/{import_id}", status_code=303)


@router.get("/imports/{import_id}/rejected")
def rejected_rows(session: SessionDep, import_id: str, _: Viewer):
    """The rejected rows with their reasons, to fix in a spreadsheet and upload again."""
    record = jobs.load(session, import_id)
    if not record.rejected_path.is_file():
        raise NotFound(N_("this import has no rejected rows"), field="import_id")
    media = "application/x-ndjson" if record.kind == "events" else "text/csv; charset=utf-8"
    path = record.rejected_path
    return FileResponse(path, media_type=media, filename=path.name)
