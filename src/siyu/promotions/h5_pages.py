"""The customer pages' HTML (H5): small, server-rendered, no script; every value escaped."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from html import escape

from siyu.core.i18n import LOCALES, money
from siyu.core.settings import get_settings

Gettext = Callable[[str], str]

STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;"
    "padding:1em;color:#1f2a28;background:#f6f8f7}main{max-width:480px;margin:0 auto}"
    "h1{font-size:1.35em;margin:.4em 0}h2{font-size:1.05em}"
    "section{background:#fff;border-radius:10px;padding:1em;margin:.8em 0}"
    ".price{font-size:1.8em;color:#c0392b;font-weight:600}.was{text-decoration:line-through;font-size:.55em;"
    "color:#8a9995;margin-left:.5em}.muted{color:#5b6b67}.big{font-size:1.2em;font-weight:600}"
    "button,.btn{display:block;width:100%;box-sizing:border-box;padding:.8em;border:0;"
    "border-radius:8px;background:#0f6e5a;color:#fff;font-size:1.05em;text-align:center;"
    "text-decoration:none;margin-top:.6em}input{width:100%;box-sizing:border-box;padding:.7em;"
    "font-size:1.05em;border:1px solid #c9d3d0;border-radius:8px;margin-top:.3em}"
    "label{display:block;margin-top:.6em}.error{background:#fdecea;color:#922}"
    ".done{background:#e8f6f0}table{width:100%;border-collapse:collapse}"
    "td{padding:.35em 0;border-bottom:1px solid #eef2f1}td:last-child{text-align:right}"
    "progress{width:100%;height:1em}code{font-size:1.2em;letter-spacing:.08em;word-break:break-all}"
)


def frame(locale: str, title: str, body: str) -> str:
    lang = locale if locale in LOCALES else "zh-CN"
    brand = escape(get_settings().brand_name.strip())
    top = f'<p class="muted">{brand}</p>' if brand else ""
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main>{top}<h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def section(inner: str, test: str = "", kind: str = "") -> str:
    css = f' class="{kind}"' if kind else ""
    return f'<section{css} data-test="{escape(test)}">{inner}</section>'


def para(text: str, css: str = "") -> str:
    return f'<p class="{css}">{escape(text)}</p>' if css else f"<p>{escape(text)}</p>"


def rows(pairs: list[tuple[str, str]], test: str = "") -> str:
    cells = "".join(f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>" for k, v in pairs)
    return f'<table data-test="{escape(test)}">{cells}</table>'


def form(action: str, csrf: str, button: str, fields: str = "", test: str = "") -> str:
    return (
        f'<form method="post" action="{escape(action)}" data-test="{escape(test)}">'
        f'<input type="hidden" name="csrf_token" value="{escape(csrf)}">{fields}'
        f"<button>{escape(button)}</button></form>"
    )


def hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{escape(name)}" value="{escape(value)}">'


def field(name: str, label: str, kind: str = "text", value: str = "", extra: str = "") -> str:
    return (
        f'<label>{escape(label)}<input name="{escape(name)}" type="{kind}" '
        f'value="{escape(value)}" {extra}></label>'
    )


def price(fen: int, locale: str, was: int | None = None) -> str:
    old = f'<span class="was">{escape(money(was, locale))}</span>' if was and was > fen else ""
    return f'<p class="price">{escape(money(fen, locale))}{old}</p>'


def link(url: str, text: str, test: str = "") -> str:
    return f'<a class="btn" href="{escape(url)}" data-test="{escape(test)}">{escape(text)}</a>'


def when(at: datetime, locale: str) -> str:
    local = at.astimezone(get_settings().zone)
    return local.strftime("%Y-%m-%d %H:%M")


def time_left(until: datetime, now: datetime, _: Gettext) -> str:
    seconds = max(0, int((until - now).total_seconds()))
    hours, minutes = seconds // 3600, seconds % 3600 // 60
    if hours:
        return _("%(hours)s h %(minutes)s min left") % {"hours": hours, "minutes": minutes}
    return _("%(minutes)s min left") % {"minutes": minutes}


def sign_in(
    _: Gettext, csrf: str, back_to: str, *, wechat_url: str | None, has_sms: bool, phone: str = ""
) -> str:
    """The ways in: WeChat (inside WeChat, when set up), else a code by SMS, else plain words."""
    parts = [para(_("Sign in to take part."), "muted")]
    if wechat_url:
        parts.append(link(wechat_url, _("Continue with WeChat"), "wechat"))
    if has_sms:
        fields = hidden("next", back_to) + field(
            "phone", _("Mobile number"), "tel", phone, 'autocomplete="tel" required'
        )
        parts.append(form("/h5/phone/code", csrf, _("Send me a code"), fields, "phone"))
    if not wechat_url and not has_sms:
        parts.append(para(_("Signing in is not available yet. Please ask our staff."), "big"))
    return section("".join(parts), "sign-in")


def code_form(_: Gettext, csrf: str, phone: str, back_to: str) -> str:
    fields = (
        hidden("next", back_to)
        + hidden("phone", phone)
        + field("code", _("The 6-digit code"), "text", "", 'inputmode="numeric" maxlength="6"')
    )
    return section(
        para(_("We sent a code to %(phone)s. It is valid for 5 minutes.") % {"phone": phone})
        + form("/h5/phone/verify", csrf, _("Sign in"), fields, "code-form"),
        "code",
    )


def problem(_: Gettext, message: str, field_name: str | None) -> str:
    named = f' data-field="{escape(field_name)}"' if field_name else ""
    return f'<section class="error" data-test="error"{named}><p>{escape(message)}</p></section>'
