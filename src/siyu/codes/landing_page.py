"""What a phone sees when a scan cannot be sent on: a page in the customer's language with the
ways still open to them (the guide's QR code, the store, the official account, the brand's page).

The page is public (strangers scan codes): every value is escaped, only http(s) addresses become
links or QR images, and the QR images are small PNGs drawn once per address.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from siyu.codes.qr import qr_png
from siyu.core.i18n import LOCALES, default_locale, translations
from siyu.core.settings import get_settings

QR_PX = 360  # on a phone screen; long-pressed in WeChat to add or follow
MAX_HEADER = 300  # only the start of Accept-Language / User-Agent is read


@dataclass(frozen=True)
class Help:
    """The ways a code can still lead somewhere: its guide, its store and what it opens."""

    guide_name: str | None = None
    guide_url: str | None = None
    store_name: str | None = None
    store_city: str | None = None
    mini_program_path: str | None = None


def customer_locale(accept_language: str, user_agent: str) -> str:
    """The scanning phone's language: WeChat's own (`Language/zh_CN` in its user agent), else
    the browser's first supported choice, else the brand's default."""
    agent = user_agent[:MAX_HEADER]
    if "Language/" in agent:
        spoken = agent.split("Language/", 1)[1][:5].lower()
        if spoken.startswith("zh"):
            return "zh-CN"
        if spoken.startswith("en"):
            return "en"
    choices = []
    for position, part in enumerate(accept_language[:MAX_HEADER].split(",")):
        tag, _, quality = part.strip().partition(";q=")
        try:
            weight = float(quality) if quality else 1.0
        except ValueError:
            continue
        choices.append((-weight, position, tag.strip().lower()))
    for _weight, _position, tag in sorted(choices):
        if tag.startswith("zh"):
            return "zh-CN"
        if tag.startswith("en"):
            return "en"
    return default_locale()


def is_web_address(url: str | None) -> bool:
    return bool(url) and str(url).startswith(("https://", "http://"))


@lru_cache(maxsize=256)
def _qr_data_uri(url: str) -> str:
    return "data:image/png;base64," + base64.b64encode(qr_png(url, QR_PX)).decode("ascii")


def help_page(help: Help, locale: str) -> str:
    """The page for a code whose target cannot be opened from this phone."""
    _ = translations(locale).gettext
    settings = get_settings()
    brand = settings.brand_name.strip()
    blocks = []
    if help.mini_program_path:
        blocks.append(
            _block(
                _("This code opens our WeChat mini program: scan it inside WeChat."),
                detail=help.mini_program_path,
            )
        )
    if help.guide_name and is_web_address(help.guide_url):
        blocks.append(
            _qr_block(
                _("Add %(name)s, your shopping guide, on WeCom") % {"name": help.guide_name},
                str(help.guide_url),
                _("Long-press the QR code to add them, or"),
                _("open the add page"),
                "guide",
            )
        )
    elif help.guide_name:
        blocks.append(
            _block(_("Your shopping guide is %(name)s: ask for them.") % {"name": help.guide_name})
        )
    if help.store_name:
        where = " · ".join(p for p in (help.store_name, help.store_city) if p)
        blocks.append(_block(_("Visit us at %(store)s.") % {"store": where}, test="store"))
    if is_web_address(settings.wechat_follow_url):
        blocks.append(
            _qr_block(
                _("Follow our official account"),
                settings.wechat_follow_url,
                _("Long-press the QR code to follow, or"),
                _("open the official account"),
                "official-account",
            )
        )
    if is_web_address(settings.brand_url):
        label = _("Visit %(brand)s") % {"brand": brand} if brand else _("Visit our page")
        blocks.append(_link(settings.brand_url, label, "brand"))
    if not blocks:
        blocks.append(
            _block(_("This code is not ready yet. Please ask a member of our staff."), test="none")
        )
    title = brand or _("Welcome")
    lead = _("Thank you for scanning.")
    return _frame(locale, title, f'<p class="lead">{escape(lead)}</p>' + "".join(blocks))


def gone_page(locale: str) -> str:
    _ = translations(locale).gettext
    text = _("This code is no longer in use.")
    title = get_settings().brand_name.strip() or _("Welcome")
    return _frame(locale, title, _block(text, test="gone"))


def _block(text: str, detail: str = "", test: str = "") -> str:
    code = f"<p><code>{escape(detail)}</code></p>" if detail else ""
    return f'<section data-test="{test}"><p>{escape(text)}</p>{code}</section>'


def _qr_block(title: str, url: str, hint: str, link: str, test: str) -> str:
    return (
        f'<section data-test="{test}"><h2>{escape(title)}</h2>'
        f'<img src="{_qr_data_uri(url)}" alt="{escape(title)}" width="220" height="220">'
        f'<p>{escape(hint)} <a href="{escape(url)}">{escape(link)}</a></p></section>'
    )


def _link(url: str, label: str, test: str) -> str:
    link = f'<a class="btn" href="{escape(url)}">{escape(label)}</a>'
    return f'<section data-test="{test}">{link}</section>'


STYLE = (
    "body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;"
    "padding:2em 1em;text-align:center;color:#1f2a28;background:#f6f8f7}"
    "main{max-width:420px;margin:0 auto}h1{font-size:1.4em}h2{font-size:1.1em}"
    "section{background:#fff;border-radius:10px;padding:1em;margin:1em 0}"
    "img{max-width:70%;height:auto;image-rendering:pixelated}code{word-break:break-all}"
    ".btn{display:inline-block;padding:.6em 1.2em;border-radius:6px;background:#0f6e5a;"
    "color:#fff;text-decoration:none}.lead{color:#5b6b67}"
)


def _frame(locale: str, title: str, body: str) -> str:
    lang = locale if locale in LOCALES else "zh-CN"
    return (
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><main><h1>{escape(title)}</h1>{body}</main></body></html>"
    )
