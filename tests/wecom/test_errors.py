"""What the platforms' error codes mean, shown in the console's language."""

from __future__ import annotations

from siyu.core.db import unit_of_work
from siyu.core.i18n import translations
from siyu.wecom.errors import OFFICIAL_ACCOUNT, WECOM, explain, explain_stored
from siyu.wecom.models import SyncRun


def _zh(meaning) -> str:
    return translations("zh-CN").gettext(meaning.message) % meaning.params


def test_a_known_code_names_what_to_fix_on_each_platform():
    wecom = explain(WECOM, 40001, "invalid credential")
    assert "SIYU_WECOM_SECRET" in wecom.message and wecom.params == {"code": 40001}
    assert _zh(wecom).startswith("企业微信拒绝了凭证（错误码 40001）")
    official = explain(OFFICIAL_ACCOUNT, "40164", "invalid ip")
    assert "IP 白名单" in _zh(official)


def test_an_unknown_code_keeps_the_platforms_words_and_no_code_means_unreachable():
    unknown = explain(WECOM, 99999, "something new " * 40)
    assert unknown.params["code"] == 99999 and len(unknown.params["reason"]) == 200
    assert "企业微信拒绝了请求（错误码 99999" in _zh(unknown)
    assert "SIYU_WECOM_API_BASE" in explain(WECOM, None, None).message


def test_a_stored_error_is_read_back_from_a_traceback():
    traceback = (
        "Traceback (most recent call last):\n  ...\n"
        "wechatpy.exceptions.WeChatClientException: Error code: 60020, message: not allow ip\n"
    )
    assert explain_stored(WECOM, traceback).params == {"code": 60020}
    assert explain_stored(WECOM, "ValueError: nothing of the platform") is None
    assert explain_stored(WECOM, None) is None


def test_the_wecom_page_shows_a_failed_syncs_error_in_chinese(signed_in):
    with unit_of_work() as s:
        s.add(SyncRun(status="failed", error="Error code: 40001, message: invalid credential"))
    page = signed_in("operator").get("/wecom").text
    assert 'data-test="sync-error"' in page and "企业微信拒绝了凭证（错误码 40001）" in page
    assert "invalid credential" not in page
