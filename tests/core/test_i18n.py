"""Every visible string has its zh-CN translation; numbers, money and dates follow the locale."""

from __future__ import annotations

from datetime import UTC, datetime

from siyu.core import catalogs, i18n


def test_every_message_in_the_code_has_a_zh_cn_translation():
    assert catalogs.missing() == []


def test_money_is_fen_shown_as_yuan_in_both_languages():
    assert i18n.money(123456, "zh-CN") == "¥1,234.56"
    assert i18n.money(-5, "en") == "-¥0.05"


def test_dates_are_shown_in_the_brand_zone():
    # 15:30 UTC on Nov 11 is 23:30 the same day in Shanghai, and 2026年11月11日 in Chinese.
    moment = datetime(2026, 11, 11, 15, 30, tzinfo=UTC)
    assert i18n.local_datetime(moment, "zh-CN") == "2026-11-11 23:30"
    assert i18n.local_date(moment, "zh-CN") == "2026年11月11日"
    assert i18n.local_date(moment, "en") == "Nov 11, 2026"


def test_unknown_locale_falls_back_to_chinese():
    assert i18n.translations("zh-CN").gettext("Customers") == "客户"
    assert i18n.translations("en").gettext("Customers") == "Customers"
