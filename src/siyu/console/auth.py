"""Sign in, sign out and the language switch."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from siyu.console.web import (
    COOKIE,
    LOCALE_COOKIE,
    N_,
    CsrfFailed,
    gettext,
    render,
    request_locale,
)
from siyu.core import i18n
from siyu.core.deps import SessionDep
from siyu.core.errors import SiyuError
from siyu.core.settings import get_settings
from siyu.users import service
from siyu.users.service import SESSION_MAX, SignInDelayed, session_user

router = APIRouter(include_in_schema=False)
PRE_CSRF = "siyu_pre_csrf"  # double-submit token for forms shown before signing in
KNOWN_BROWSER = "siyu_known"  # this browser signed in here before: see users.throttle


def _safe_next(target: str | None) -> str:
    """Only paths on this site: never an open redirect."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def set_cookie(response: Response, name: str, value: str, **options) -> None:
    """SameSite=Lax always; Secure when SIYU_SECURE_COOKIES says the console is served by HTTPS."""
    response.set_cookie(
        name, value, samesite="lax", secure=get_settings().secure_cookies, **options
    )


def _login_page(request: Request, status: int = 200, **context):
    token = request.cookies.get(PRE_CSRF) or secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        status_code=status,
        pre_csrf=token,
        next=_safe_next(request.query_params.get("next") or context.pop("next", None)),
        **context,
    )
    set_cookie(response, PRE_CSRF, token, httponly=True)
    return response


@router.get("/login")
def login_form(request: Request):
    return _login_page(request)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    email: Annotated[str, Form()],
    password: Annotated[str, Form()],
    csrf_token: Annotated[str, Form()] = "",
    next: Annotated[str, Form()] = "/",
):
    if not csrf_token or csrf_token != request.cookies.get(PRE_CSRF):
        raise CsrfFailed(N_("the sign-in form has expired; reload the page"), field="csrf_token")
    address = request.client.host if request.client else "unknown"
    try:
        signed_in = service.sign_in(
            session, email, password, address, request.cookies.get(KNOWN_BROWSER)
        )
    except SiyuError as error:
        return _refused(request, error, email, next)
    response = RedirectResponse(_safe_next(next), status_code=303)
    max_age = int(SESSION_MAX.total_seconds())
    set_cookie(response, COOKIE, signed_in.session_secret, httponly=True, max_age=max_age)
    year = 365 * 86400
    set_cookie(response, KNOWN_BROWSER, signed_in.known_browser, httponly=True, max_age=year)
    if signed_in.user.locale:
        set_cookie(response, LOCALE_COOKIE, signed_in.user.locale)
    return response


def _refused(request: Request, error: SiyuError, email: str, next: str) -> Response:
    _ = gettext(request_locale(request))
    message = _(error.message)
    if isinstance(error, SignInDelayed):
        message %= {"seconds": error.seconds}
    response = _login_page(request, status=error.status, error=message, email=email, next=next)
    if isinstance(error, SignInDelayed):
        response.headers["Retry-After"] = str(error.seconds)
    return response


@router.post("/logout")
def logout(request: Request, session: SessionDep):
    """Ends the session on the server whatever the form carries: signing out must always work
    (a stale page's token is no reason to keep a session alive), and forcing someone out is no
    gain to an attacker; the session cookie is SameSite=Lax, so another site cannot even try."""
    secret = request.cookies.get(COOKIE)
    if secret:
        service.sign_out(session, secret)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE, secure=get_settings().secure_cookies, httponly=True)
    return response


@router.post("/lang")
def switch_language(
    request: Request,
    session: SessionDep,
    locale: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/",
    csrf_token: Annotated[str, Form()] = "",
):
    """Each user keeps their language; before signing in, a cookie keeps it."""
    if locale not in i18n.LOCALES:
        locale = i18n.default_locale()
    secret = request.cookies.get(COOKIE)
    found = session_user(session, secret) if secret else None
    if found and csrf_token == found[1].csrf_token:
        service.set_locale(session, found[0], locale)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_cookie(response, LOCALE_COOKIE, locale, max_age=365 * 86400)
    return response
