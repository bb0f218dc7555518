"""Reach's HTTP surfaces: `/api/consent` (a customer's consent: read, set, import; bearer tokens),
and the public links in messages: `/l/{code}` (a tracked link: count the click, redirect) and
`/u/{token}` (unsubscribe: GET shows a confirm page in the reader's language, POST unsubscribes,
including a mail provider's RFC 8058 one-click POST `List-Unsubscribe=One-Click`)."""

from __future__ import annotations

from html import escape
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ConfigDict, Field

from siyu.codes.landing_page import customer_locale
from siyu.core.auth import ApiToken
from siyu.core.deps import SessionDep, token_allowed
from siyu.core.i18n import LOCALES, translations
from siyu.core.limits import Text200
from siyu.core.settings import get_settings
from siyu.customers import service as customers
from siyu.messaging import links, service
from siyu.messaging.schemas import CustomerConsentOut, consent_out

router = APIRouter(prefix="/api/consent", tags=["consent"])
public = APIRouter(include_in_schema=False)
Reader = Annotated[ApiToken, token_allowed("consent.view")]
Editor = Annotated[ApiToken, token_allowed("consent.edit")]
ChannelName = Literal["wecom", "official_account", "sms", "email", "call"]


class ConsentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    status: Literal["subscribed", "unsubscribed"]
    source: Text200 = Field(description="Where it came from, e.g. 'store sign-up form 2026-11'.")
    method: Literal["api", "form", "reply", "call_outcome", "platform"] = "api"


class ImportIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    channel: ChannelName
    source: Text200
    values: list[Annotated[str, Field(max_length=200)]] = Field(
        max_length=200_000,
        description="Identity values (phone, email, member id, openid, external userid, user "
        "id) or customer ids: those customers are subscribed.",
    )


class ImportOut(BaseModel):
    subscribed: int
    unchanged: int
    kept_unsubscribed: int = Field(description="Unsubscribed before: an import never undoes it.")
    unknown: int
    unknown_values: list[str] = Field(description="The first 100 values naming no customer.")


@router.post("/import", summary="Subscribe the customers a list of identity values names")
def import_list(body: ImportIn, session: SessionDep, token: Editor) -> ImportOut:
    done = service.import_consents(
        session, body.values, body.channel, body.source, f"token:{token.name}"
    )
    return ImportOut(**done.as_dict())


@router.get("/{ref}", summary="A customer's consent on every channel (by id or any identity)")
def show(ref: str, session: SessionDep, token: Reader) -> CustomerConsentOut:
    customer = customers.find_customer(session, ref)
    return consent_out(customer.id, service.consent_of(session, customer.id))


@router.put("/{ref}", summary="Record a customer's consent on one channel")
@router.post("/{ref}", summary="Record a customer's consent on one channel (as PUT)")
def set_one(ref: str, body: ConsentIn, session: SessionDep, token: Editor) -> CustomerConsentOut:
    customer = customers.find_customer(session, ref)
    service.set_consent(
        session,
        customer.id,
        body.channel,
        body.status,
        method=body.method,
        source=body.source,
        actor=f"token:{token.name}",
    )
    return consent_out(customer.id, service.consent_of(session, customer.id))


@public.get("/l/{code}")
def follow_link(code: str, session: SessionDep) -> RedirectResponse:
    click = links.follow(session, code)
    return RedirectResponse(click.target, status_code=302)


def _reader_locale(
    accept_language: Annotated[str, Header()] = "", user_agent: Annotated[str, Header()] = ""
) -> str:
    return customer_locale(accept_language, user_agent)


ReaderLocale = Annotated[str, Depends(_reader_locale)]


@public.get("/u/{token}")
def unsubscribe_page(token: str, session: SessionDep, locale: ReaderLocale) -> HTMLResponse:
    links.check_token(session, token)
    _ = translations(locale).gettext
    form = (
        f'<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click">'
        f'<button class="btn" type="submit">{escape(_("Unsubscribe"))}</button></form>'
    )
    text = _("Stop receiving these messages?")
    return HTMLResponse(_page(locale, _("Unsubscribe"), f"<p>{escape(text)}</p>{form}"))


@public.post("/u/{token}")
def unsubscribe(token: str, session: SessionDep, locale: ReaderLocale) -> HTMLResponse:
    """RFC 8058 one-click (a mail provider's POST `List-Unsubscribe=One-Click`) or the page's
    button: the body says nothing more, so it is not read."""
    links.unsubscribe(session, token)
    _ = translations(locale).gettext
    text = _("You are unsubscribed: you will not receive these messages any more.")
    return HTMLResponse(_page(locale, _("Unsubscribed"), f"<p>{escape(text)}</p>"))


STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;"
    "padding:2em 1em;text-align:center;color:#1f2a28;background:#f6f8f7}"
    "main{max-width:420px;margin:0 auto;background:#fff;border-radius:10px;padding:1em}"
    ".btn{padding:.6em 1.2em;border:0;border-radius:6px;background:#0f6e5a;color:#fff}"
)


def _page(locale: str, title: str, body: str) -> str:
    lang = locale if locale in LOCALES else "zh-CN"
    brand = get_settings().brand_name.strip()
    heading = f"{brand} · {title}" if brand else title
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(heading)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(heading)}</h1>{body}</main></body></html>"
    )
