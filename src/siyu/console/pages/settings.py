"""Settings pages: write keys, API tokens, console users, the trait dictionary and the audit
log."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel
from sqlalchemy.orm import Session

from siyu.console.pages.audit_names import ACTIONS, COLUMNS, ENTITIES, VALUES
from siyu.console.web import N_, allowed, render, request_locale
from siyu.core.auth import ROLES, TOKEN_ROLES
from siyu.core.deps import SessionDep
from siyu.core.errors import NotFound, SiyuError
from siyu.core.forms import Submission, posted, queried
from siyu.core.limits import Day, RowId, Text40, Text64, Text200
from siyu.core.permissions import can
from siyu.events import sources
from siyu.events.models import Source
from siyu.settings import labels, service
from siyu.users.models import User
from siyu.users.service import create_user

router = APIRouter(include_in_schema=False)
KeyAdmin = Annotated[User, allowed("keys.manage")]
TokenAdmin = Annotated[User, allowed("tokens.manage")]
UserAdmin = Annotated[User, allowed("users.manage")]
AuditReader = Annotated[User, allowed("audit.view")]
TraitEditor = Annotated[User, allowed("customers.edit")]


@dataclass(frozen=True)
class Section:
    path: str
    permission: str
    title: str
    summary: str


SECTIONS = (
    Section(
        "/settings/keys",
        "keys.manage",
        N_("Write keys"),
        N_("Sources that send events to the tracking API, each with its own key."),
    ),
    Section(
        "/settings/tokens",
        "tokens.manage",
        N_("API tokens"),
        N_("Bearer tokens for the management API, each with a role."),
    ),
    Section(
        "/settings/users",
        "users.manage",
        N_("Users"),
        N_("Who can sign in to the console, and with which role."),
    ),
    Section(
        "/settings/traits",
        "customers.edit",
        N_("Trait dictionary"),
        N_("What customer traits and their values are called on every page, in both languages."),
    ),
    Section(
        "/settings/audit",
        "audit.view",
        N_("Audit log"),
        N_("Every change: who made it, when, and which fields changed."),
    ),
)
IMPORTS = Section(
    "/imports",
    "imports.view",
    N_("Imports"),
    N_("Load customers, orders and events from CSV, Excel or JSON-lines files."),
)
FIELDS = {
    "name": N_("Name"),
    "email": N_("Email"),
    "password": N_("Password"),
    "role": N_("Role"),
    "staff_id": N_("Staff member"),
    "user_id": N_("User"),
    "since": N_("From"),
    "until": N_("To"),
}
# What each domain's error means on these forms, in words that have a translation.
MESSAGES: dict[tuple[str | None, str], str] = {
    ("name", "invalid"): N_("a name is required"),
    ("name", "conflict"): N_("this name is taken already; choose another"),
    ("email", "invalid"): N_("enter a valid email address"),
    ("email", "conflict"): N_("a user with this email exists already"),
    ("password", "invalid"): N_("the password needs at least 8 characters"),
    ("role", "invalid"): N_("choose one of the roles"),
    ("staff_id", "invalid"): N_("a guide must be linked to an existing staff member"),
}


def problem(error: SiyuError, labels: dict[str, str] | None = None) -> dict:
    """A form error as the page shows it: the field's label and what to do."""
    message = MESSAGES.get((error.field, error.code), error.message)
    label = {**FIELDS, **(labels or {})}.get(error.field or "")
    return {"field": error.field, "label": label, "message": message}


def _failed(request: Request, session: Session, error: SiyuError, page, labels=None, **form):
    """Nothing of a refused form is kept; the page comes back with the error and the input."""
    session.rollback()
    shown = problem(error, labels)
    return page(request, session, status_code=error.status, error=shown, form=form)


def _invalid(request: Request, session: Session, submission: Submission, page):
    """A form that did not validate: its page again, each error beside its field."""
    return page(request, session, status_code=400, form=submission.values, posted=submission)


class NewToken(BaseModel):
    """The API token form; the service says what a name and a role must be."""

    name: Text200 = ""
    role: Text40 = ""
    staff_id: RowId | None = None


class NewUser(BaseModel):
    """The new console user form; the service checks the email, the password and the role."""

    email: Text200 = ""
    name: Text200 = ""
    role: Text40 = ""
    password: Text200 = ""
    staff_id: RowId | None = None


class RoleChange(BaseModel):
    """A user's role, and the staff member a guide is."""

    role: Text40 = ""
    staff_id: RowId | None = None


def _done(path: str, notice: str) -> RedirectResponse:
    return RedirectResponse(f"{path}?done={notice}", status_code=303)


# --- the settings home ---------------------------------------------------------------------


@router.get("/settings", response_class=HTMLResponse)
def settings_home(request: Request, user: Annotated[User, allowed("imports.view")]):
    mine = [s for s in (*SECTIONS, IMPORTS) if can(user.role, s.permission)]
    return render(request, "settings_home.html", sections=mine)


def _page(request: Request, template: str, status_code: int = 200, **context):
    user = request.state.user
    tabs = [s for s in SECTIONS if can(user.role, s.permission)]
    return render(request, template, status_code=status_code, tabs=tabs, **context)


# --- write keys -----------------------------------------------------------------------------


def _keys_page(request: Request, session: Session, status_code: int = 200, **context):
    keyed = [s for s in sources.list_sources(session) if s.key_prefix]
    return _page(request, "settings_keys.html", status_code, sources=keyed, **context)


@router.get("/settings/keys", response_class=HTMLResponse)
def keys(request: Request, session: SessionDep, _: KeyAdmin, done: str = ""):
    return _keys_page(request, session, done=done)


class NewKey(BaseModel):
    """The write key form: the source's name (the service says what a name must be)."""

    name: Text200 = ""


@router.post("/settings/keys", response_class=HTMLResponse)
def create_key(
    request: Request,
    session: SessionDep,
    _: KeyAdmin,
    form: Annotated[Submission[NewKey], posted(NewKey)],
):
    if (new := form.data) is None:
        return _invalid(request, session, form, _keys_page)
    try:
        source, key = sources.create_key(session, new.name)
    except SiyuError as error:
        labels = {"name": N_("Source name")}
        return _failed(request, session, error, _keys_page, labels, **form.values)
    return _keys_page(request, session, created=source, secret=key)


@router.post("/settings/keys/{source_id}/revoke")
def revoke_key(source_id: RowId, session: SessionDep, _: KeyAdmin):
    source = session.get(Source, source_id)
    if source is None or not source.key_prefix:
        raise NotFound(N_("no such write key"), field="source_id")
    sources.revoke_key(session, source.name)
    return _done("/settings/keys", "revoked")


def _staff(session: Session) -> dict:
    """The staff to choose from, and their names by id, from one query."""
    staff = service.staff_choices(session)
    return {"staff": staff, "staff_names": {member.id: member.name for member in staff}}


# --- API tokens ----------------------------------------------------------------------------


def _tokens_page(request: Request, session: Session, status_code: int = 200, **context):
    return _page(
        request,
        "settings_tokens.html",
        status_code,
        tokens=service.list_tokens(session),
        **_staff(session),
        roles=TOKEN_ROLES,
        **context,
    )


@router.get("/settings/tokens", response_class=HTMLResponse)
def tokens(request: Request, session: SessionDep, _: TokenAdmin, done: str = ""):
    return _tokens_page(request, session, done=done)


@router.post("/settings/tokens", response_class=HTMLResponse)
def create_token(
    request: Request,
    session: SessionDep,
    _: TokenAdmin,
    form: Annotated[Submission[NewToken], posted(NewToken)],
):
    if (new := form.data) is None:
        return _invalid(request, session, form, _tokens_page)
    try:
        token, secret = service.issue_token(session, new.name, new.role, new.staff_id)
    except SiyuError as error:
        labels = {"name": N_("Token name")}
        return _failed(request, session, error, _tokens_page, labels, **form.values)
    return _tokens_page(request, session, created=token, secret=secret)


@router.post("/settings/tokens/{token_id}/revoke")
def revoke_token(token_id: RowId, session: SessionDep, _: TokenAdmin):
    service.revoke_token(session, token_id)
    return _done("/settings/tokens", "revoked")


# --- console users -------------------------------------------------------------------------


def _users_page(request: Request, session: Session, status_code: int = 200, **context):
    people = service.list_users(session)
    return _page(
        request,
        "settings_users.html",
        status_code,
        people=people,
        **_staff(session),
        roles=ROLES,
        delays=service.sign_in_delays(session, people),
        **context,
    )


@router.get("/settings/users", response_class=HTMLResponse)
def users(request: Request, session: SessionDep, _: UserAdmin, done: str = ""):
    return _users_page(request, session, done=done)


@router.post("/settings/users", response_class=HTMLResponse)
def add_user(
    request: Request,
    session: SessionDep,
    _: UserAdmin,
    form: Annotated[Submission[NewUser], posted(NewUser)],
):
    if (new := form.data) is None:
        return _invalid(request, session, form, _users_page)
    name, staff = new.name.strip() or None, new.staff_id if new.role == "guide" else None
    try:
        person = create_user(session, new.email, new.password, new.role, name, staff)
    except SiyuError as error:
        shown = {k: v for k, v in form.values.items() if k != "password"}
        return _failed(request, session, error, _users_page, **shown)
    return _done(f"/settings/users/{person.id}", "created")


def _user_page(request: Request, session: Session, status_code: int = 200, **context):
    person = service.find_user(session, int(request.path_params["user_id"]))
    return _page(
        request,
        "settings_user.html",
        status_code,
        person=person,
        locked=service.sign_in_delays(session, [person]).get(person.id),
        **_staff(session),
        roles=ROLES,
        **context,
    )


@router.get("/settings/users/{user_id}", response_class=HTMLResponse)
def user_detail(
    request: Request, session: SessionDep, user_id: RowId, _: UserAdmin, done: str = ""
):
    return _user_page(request, session, done=done)


@router.post("/settings/users/{user_id}/role", response_class=HTMLResponse)
def change_role(
    request: Request,
    session: SessionDep,
    user_id: int,
    _: UserAdmin,
    form: Annotated[Submission[RoleChange], posted(RoleChange)],
):
    if (change := form.data) is None:
        return _invalid(request, session, form, _user_page)
    try:
        service.change_role(session, user_id, change.role, change.staff_id)
    except SiyuError as error:
        if isinstance(error, NotFound):
            raise
        return _failed(request, session, error, _user_page, **form.values)
    return _done(f"/settings/users/{user_id}", "role")


class Activation(BaseModel):
    """The deactivate / reactivate button's choice."""

    active: bool = False


@router.post("/settings/users/{user_id}/active", response_class=HTMLResponse)
def set_active(
    request: Request,
    session: SessionDep,
    user_id: RowId,
    acting: UserAdmin,
    form: Annotated[Submission[Activation], posted(Activation)],
):
    if form.data is None:  # the user's page, which is a 404 for an unknown user
        return _invalid(request, session, form, _user_page)
    try:
        service.set_active(session, user_id, form.data.active, acting)
    except SiyuError as error:
        if isinstance(error, NotFound):
            raise
        return _failed(request, session, error, _user_page)
    return _done(f"/settings/users/{user_id}", "active" if form.data.active else "inactive")


@router.post("/settings/users/{user_id}/unlock")
def unlock(user_id: RowId, session: SessionDep, _: UserAdmin):
    service.unlock(session, user_id)
    return _done(f"/settings/users/{user_id}", "unlocked")


# --- the trait dictionary -----------------------------------------------------------------


class TraitNaming(BaseModel):
    """A name for a trait (no value) or for one of its values, in Chinese and English."""

    trait: Text64 = ""
    value: Text200 = ""
    zh: Text200 = ""
    en: Text200 = ""


def _traits_page(request: Request, session: Session, status_code: int = 200, **context):
    return _page(
        request,
        "settings_traits.html",
        status_code,
        entries=labels.entries(session),
        unnamed=labels.unnamed_traits(session),
        **context,
    )


@router.get("/settings/traits", response_class=HTMLResponse)
def traits(
    request: Request,
    session: SessionDep,
    _: TraitEditor,
    done: str = "",
    trait: Annotated[str, Query(max_length=64)] = "",
    value: Annotated[str, Query(max_length=200)] = "",
):
    """The dictionary; `trait` (and `value`) fill the form in to rename that entry."""
    found = labels.dictionary(session).label(trait, value) if trait else None
    names = {"zh": found.zh, "en": found.en} if found else {"zh": "", "en": ""}
    form = {"trait": trait, "value": value, **names}
    return _traits_page(request, session, done=done, form=form)


@router.post("/settings/traits", response_class=HTMLResponse)
def name_trait(
    request: Request,
    session: SessionDep,
    _: TraitEditor,
    form: Annotated[Submission[TraitNaming], posted(TraitNaming)],
):
    if (new := form.data) is None:
        return _invalid(request, session, form, _traits_page)
    try:
        labels.save_label(session, new.trait, new.value, new.zh, new.en)
    except SiyuError as error:
        session.rollback()
        form.refuse(error)
        return _traits_page(request, session, 400, form=form.values, posted=form)
    return _done("/settings/traits", "named")


@router.post("/settings/traits/{label_id}/remove")
def remove_trait_name(label_id: RowId, session: SessionDep, _: TraitEditor):
    labels.remove_label(session, label_id)
    return _done("/settings/traits", "reset")


# --- the audit log -------------------------------------------------------------------------


class AuditQuery(BaseModel):
    """The audit log's filters (a form sent by GET): who, what, and the brand's days."""

    actor: Text200 = ""
    entity: Text40 = ""
    since: Day | None = None
    until: Day | None = None


@router.get("/settings/audit", response_class=HTMLResponse)
def audit(
    request: Request,
    session: SessionDep,
    _: AuditReader,
    filters: Annotated[Submission[AuditQuery], queried(AuditQuery)],
    before: Annotated[int | None, Query()] = None,
):
    context: dict[str, Any] = {
        "form": dict.fromkeys(("actor", "entity", "since", "until"), "") | filters.values,
        "filters": filters,
        "actors": service.audit_actors(session),
        "entities": service.audit_entities(session),
        "entity_names": ENTITIES,
        "column_names": COLUMNS,
        "value_names": VALUES,
        "staff_names": {str(k): v for k, v in service.staff_names(session).items()},
        "store_names": {str(k): v for k, v in service.store_names(session).items()},
        "action_names": ACTIONS,
    }
    if filters.data is None:
        return _page(request, "settings_audit.html", 400, page=None, **context)
    wanted = service.AuditFilter(**filters.data.model_dump())
    page = service.audit_page(session, wanted, before)
    locale = request_locale(request, request.state.user)
    names = labels.dictionary(session)
    changes = {e.id: service.field_changes(e, locale, names) for e in page.entries}
    shown = {c.after for cs in changes.values() for c in cs} | {
        c.before for cs in changes.values() for c in cs
    }
    touchpoints = service.touchpoint_names(session, shown)
    return _page(
        request,
        "settings_audit.html",
        page=page,
        changes=changes,
        touchpoint_names=touchpoints,
        **context,
    )
