"""The console's frame: signed-in user, CSRF, language, and rendering with locale-aware filters."""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from contextvars import ContextVar
from functools import cache, lru_cache
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, unquote_plus

from fastapi import Depends, Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, select_autoescape
from sqlalchemy.exc import SQLAlchemyError

from siyu.core import i18n
from siyu.core.deps import SessionDep
from siyu.core.errors import Forbidden
from siyu.core.i18n import N_
from siyu.core.permissions import can
from siyu.events.catalogue import TRACK, display_name
from siyu.profiles.service import mask_phone, mask_phones, sees_full_phones
from siyu.settings import labels
from siyu.users.models import User, WebSession
from siyu.users.service import session_user

COOKIE = "siyu_session"
LOCALE_COOKIE = "siyu_locale"
READS = ("GET", "HEAD", "OPTIONS")  # methods that change nothing, so carry no CSRF token
TEMPLATES = Path(__file__).resolve().parent / "templates"  # every page's, by flat name


# (path, permission, message id): the console's navigation, one entry per domain.
NAV = (
    ("/", "dashboard.view", N_("Home")),
    ("/workbench", "workbench.view", N_("My workbench")),
    ("/customers", "customers.view", N_("Customers")),
    ("/imports", "imports.view", N_("Imports")),
    ("/touchpoints", "touchpoints.view", N_("Touchpoints")),
    ("/codes", "codes.view", N_("Channel codes")),
    ("/staff", "staff.view", N_("Guides & stores")),
    ("/tasks", "tasks.view", N_("Guide tasks")),
    ("/segments", "customers.view", N_("Tags & segments")),
    ("/reach", "customers.view", N_("Reach")),
    ("/promotions", "promotions.view", N_("Promotions")),
    ("/analytics", "dashboard.view", N_("Analytics")),
    ("/reports", "reports.view", N_("Reports")),
    ("/wecom", "wecom.view", N_("WeCom")),
    ("/settings", "imports.view", N_("Settings")),
)
ROLE_NAMES = (N_("admin"), N_("operator"), N_("analyst"), N_("guide"), N_("mall"))


class LoginRequired(Exception):
    def __init__(self, next_url: str):
        self.next_url = next_url


class CsrfFailed(Forbidden):
    code = "csrf"


_DECIMAL = re.compile(r"-?[1-9]\d{3,}(\.\d+)?")  # four digits or more before any point


def keeps_phone_from(user: User | None, text: str) -> bool:
    """Whether `text` names a phone number this user may not see in full (a guide's phone
    search): a page does not write it back."""
    return user is not None and not sees_full_phones(user.role) and mask_phones(text) != text


def grouped(cell: Any) -> Any:
    """A number written plainly (a report's table, as its CSV has it) with its thousands
    grouped for reading: 357514.00 → 357,514.00; a cell that says how it reads (a rate, as a
    percent) reads so. Anything else is left as it is."""
    if hasattr(cell, "shown"):
        return cell.shown()
    text = str(cell) if isinstance(cell, int | float) and not isinstance(cell, bool) else cell
    if not isinstance(text, str) or not _DECIMAL.fullmatch(text):
        return cell
    whole, dot, fraction = text.partition(".")
    return f"{int(whole):,}{dot}{fraction}"


# The page being rendered's trait dictionary, read from its session the first time a filter asks.
_dictionary: ContextVar[Callable[[], labels.TraitDictionary]] = ContextVar(
    "siyu_trait_dictionary", default=lambda: labels.BUILT_IN
)


def _page_dictionary(request: Request) -> Callable[[], labels.TraitDictionary]:
    session = getattr(request.state, "session", None)

    @cache
    def load() -> labels.TraitDictionary:
        try:
            return labels.dictionary(session)
        except SQLAlchemyError:  # an error page after a failed transaction: the built-in names
            return labels.BUILT_IN

    return load


def _display_filters(locale: str) -> dict[str, Callable[..., str]]:
    """Names as people read them in `locale`: traits and their values (the brand's trait
    dictionary), and events (the event catalogue)."""
    return {
        "trait_name": lambda trait: _dictionary.get()().trait_name(str(trait), locale),
        "trait_value": lambda value, trait="": _dictionary.get()().trait_value(
            value, str(trait), locale
        ),
        "event_name": lambda event, call=TRACK: display_name(event, locale, call or TRACK),
    }


@lru_cache
def templates(locale: str) -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(),
        extensions=["jinja2.ext.i18n"],
    )
    # jinja2.ext.i18n adds this method to the environment; the checker sees only Environment's.
    env.install_gettext_translations(  # type: ignore[attr-defined]
        i18n.translations(locale), newstyle=True
    )
    env.filters.update(
        money=lambda fen: i18n.money(fen, locale),
        number=lambda v, digits=0: i18n.number(v, locale, digits),
        percent=lambda v, digits=1: i18n.percent(v, locale, digits),
        datetime=lambda v: i18n.local_datetime(v, locale),
        date=lambda v: i18n.local_date(v, locale),
        mask_phone=mask_phone,
        grouped=grouped,
        **_display_filters(locale),
    )
    env.globals.update(can=can, NAV=NAV)
    return Jinja2Templates(env=env)


def request_locale(request: Request, user: User | None = None) -> str:
    for choice in (user.locale if user else None, request.cookies.get(LOCALE_COOKIE)):
        if choice in i18n.LOCALES:
            return choice
    return i18n.default_locale()


def gettext(locale: str):
    return i18n.translations(locale).gettext


def render(request: Request, template: str, status_code: int = 200, **context):
    user = getattr(request.state, "user", None)
    if not hasattr(request.state, "csp_nonce"):
        # The edge names this in the page's Content-Security-Policy: only these scripts run.
        request.state.csp_nonce = secrets.token_urlsafe(16)
    web = getattr(request.state, "web", None)
    locale = request_locale(request, user)
    query = f"?{request.url.query}" if request.url.query else ""
    if keeps_phone_from(user, unquote_plus(query)):
        query = ""
    context.update(
        user=user,
        locale=locale,
        csrf_token=web.csrf_token if web else "",
        full_phones=user is not None and sees_full_phones(user.role),
        csp_nonce=request.state.csp_nonce,
        path=request.url.path,
        here=request.url.path + query,  # the language switch comes back with the filters
    )
    # The response renders its template here and now, so the dictionary is this request's.
    token = _dictionary.set(_page_dictionary(request))
    try:
        return templates(locale).TemplateResponse(
            request, template, context, status_code=status_code
        )
    finally:
        _dictionary.reset(token)


def _signed_in(request: Request, session: SessionDep) -> tuple[User, WebSession]:
    secret = request.cookies.get(COOKIE)
    found = session_user(session, secret) if secret else None
    if found is None:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise LoginRequired(quote(target))
    request.state.user, request.state.web = found
    request.state.session = session  # the page reads its trait dictionary through it
    return found


async def _sent_csrf(request: Request) -> object:
    """The CSRF token a change carries (header, or the posted form): reading the form is the
    only thing awaited, so no database work runs on the event loop."""
    if request.method in READS:
        return None
    sent: object = request.headers.get("x-csrf-token")
    if sent is None:
        sent = (await request.form()).get("csrf_token")
    return sent


# A plain `def`, so its database read runs in the thread pool, not on the event loop.
SignedIn = Annotated[tuple[User, WebSession], Depends(_signed_in)]


def _console_user(
    request: Request, found: SignedIn, sent: Annotated[object, Depends(_sent_csrf)]
) -> User:
    if request.method not in READS and sent != found[1].csrf_token:
        raise CsrfFailed(
            N_("the form has expired or did not come from this console; reload the page"),
            field="csrf_token",
        )
    return found[0]


ConsoleUser = Annotated[User, Depends(_console_user)]


def allowed(permission: str) -> Any:
    """A signed-in user holding `permission`; every change they make is audited under them."""

    def check(user: ConsoleUser, session: SessionDep) -> User:
        if not can(user.role, permission):
            raise Forbidden(N_("your role cannot open this page"))
        session.info["actor"] = f"user:{user.email}"
        return user

    return Depends(check)
