"""Languages: Babel catalogs for zh-CN (default) and en, and locale-aware number, money, date."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from gettext import NullTranslations
from pathlib import Path

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal, format_percent
from babel.support import Translations

from siyu.core.settings import get_settings

LOCALES = {"zh-CN": "zh_Hans_CN", "en": "en"}


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    """Marks a message for the catalog; it is translated where it is shown."""
    return message


CATALOGS = Path(__file__).resolve().parent.parent / "translations"


def babel_locale(locale: str) -> Locale:
    return Locale.parse(LOCALES.get(locale, "zh_Hans_CN"))


def default_locale() -> str:
    value = get_settings().locale
    return value if value in LOCALES else "zh-CN"


@lru_cache
def translations(locale: str) -> NullTranslations:
    """The catalog for a locale, compiled in memory from every .po file in its folder (one per
    console area, so areas are translated independently). English is the source text."""
    folder = CATALOGS / LOCALES.get(locale, "-") / "LC_MESSAGES"
    if locale == "en" or not folder.is_dir():
        return NullTranslations()
    merged = None
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as handle:
            catalog = read_po(handle, locale=LOCALES[locale])
        if merged is None:
            merged = catalog
        else:
            for message in catalog:
                if not (message.id and message.string):
                    continue
                current = merged.get(message.id)
                if current is None:
                    merged[message.id] = message
                elif not current.string:  # setitem would keep the empty first string
                    current.string = message.string
    if merged is None:
        return NullTranslations()
    buffer = io.BytesIO()
    write_mo(buffer, merged)
    buffer.seek(0)
    return Translations(buffer)


def number(value: float | int | Decimal | None, locale: str, digits: int = 0) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=babel_locale(locale))


def money(fen: int | None, locale: str) -> str:
    """Integer fen shown as yuan: ¥1,234.56."""
    if fen is None:
        return "–"
    sign = "-" if fen < 0 else ""
    yuan = format_decimal(Decimal(abs(fen)) / 100, format="#,##0.00", locale=babel_locale(locale))
    return f"{sign}¥{yuan}"


def percent(value: float | None, locale: str, digits: int = 1) -> str:
    if value is None:
        return "–"
    pattern = "#,##0" + ("." + "0" * digits if digits else "") + "%"
    return format_percent(value, format=pattern, locale=babel_locale(locale))


def local_datetime(value: datetime | str | None, locale: str) -> str:
    """A moment in the brand's zone; also one given as ISO 8601 text, as JSON-shaped records
    (a 群发 share's status) carry it."""
    if value is None:
        return "–"
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return format_datetime(
        value, "yyyy-MM-dd HH:mm", tzinfo=get_settings().zone, locale=babel_locale(locale)
    )


def local_date(value: datetime | None, locale: str) -> str:
    if value is None:
        return "–"
    local = value.astimezone(get_settings().zone) if isinstance(value, datetime) else value
    return format_date(local, "medium", locale=babel_locale(locale))
