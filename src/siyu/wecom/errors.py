"""What WeCom's and the official account's error codes mean, in words an operator can act on.

Both platforms answer with WeChat's return codes (`errcode`, `errmsg`). The console shows the
message for a known code in its own language, naming what to fix; an unknown code keeps the
platform's own words. wechatpy reports a connection that failed as an error without a code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from siyu.core.i18n import N_

WECOM = "WeCom"
OFFICIAL_ACCOUNT = "WeChat"

_CREDENTIALS = {
    WECOM: N_(
        "WeCom refused the credentials (error %(code)s): check SIYU_WECOM_CORP_ID and "
        "SIYU_WECOM_SECRET (the customer-contact secret)."
    ),
    OFFICIAL_ACCOUNT: N_(
        "The official account refused the credentials (error %(code)s): check "
        "SIYU_WECHAT_APP_ID and SIYU_WECHAT_SECRET."
    ),
}
_ADDRESS = {
    WECOM: N_(
        "WeCom refused this server's IP address (error %(code)s): add it to the trusted IPs "
        "of the app in the WeCom admin."
    ),
    OFFICIAL_ACCOUNT: N_(
        "The official account refused this server's IP address (error %(code)s): add it to "
        "the IP whitelist in the official account's settings."
    ),
}
_NOT_ALLOWED = {
    WECOM: N_(
        "WeCom does not let this app make the call (error %(code)s): give the secret "
        "customer-contact access in the WeCom admin."
    ),
    OFFICIAL_ACCOUNT: N_(
        "The official account may not make this call (error %(code)s): permanent QR codes "
        "need a verified service account."
    ),
}
_LIMIT = N_("The platform's call limit is reached (error %(code)s): try again later.")
_BUSY = N_("The platform is busy (error %(code)s): try again in a minute.")
_MEANINGS: dict[int, dict[str, str]] = {
    -1: {WECOM: _BUSY, OFFICIAL_ACCOUNT: _BUSY},
    40001: _CREDENTIALS,
    40013: _CREDENTIALS,
    40125: _CREDENTIALS,
    40014: _CREDENTIALS,
    42001: _CREDENTIALS,
    60020: _ADDRESS,
    40164: _ADDRESS,
    48001: _NOT_ALLOWED,
    48002: _NOT_ALLOWED,
    45009: {WECOM: _LIMIT, OFFICIAL_ACCOUNT: _LIMIT},
    60111: {
        WECOM: N_(
            "WeCom does not know a guide's UserID (error %(code)s): check the guides' WeCom "
            "UserIDs on the staff page."
        )
    },
    84074: {
        WECOM: N_(
            "A guide has no customer-contact permission in WeCom (error %(code)s): grant it in "
            "the WeCom admin (客户联系 → 权限配置)."
        )
    },
}
_UNKNOWN = {
    WECOM: N_("WeCom refused the request (error %(code)s: %(reason)s)."),
    OFFICIAL_ACCOUNT: N_("The official account refused the request (error %(code)s: %(reason)s)."),
}
_UNREACHABLE = {
    WECOM: N_("Siyu could not reach WeCom: check this server's network and SIYU_WECOM_API_BASE."),
    OFFICIAL_ACCOUNT: N_(
        "Siyu could not reach the official account's API: check this server's network and "
        "SIYU_WECHAT_API_BASE."
    ),
}


@dataclass(frozen=True)
class Explained:
    """A message id and the values its placeholders take, translated where it is shown."""

    message: str
    params: dict[str, Any] = field(default_factory=dict)


def explain(platform: str, errcode: Any, errmsg: Any) -> Explained:
    """What the platform's answer means (`platform`: WECOM or OFFICIAL_ACCOUNT)."""
    if errcode is None:
        return Explained(_UNREACHABLE[platform])
    try:
        code = int(errcode)
    except (TypeError, ValueError):
        code = None
    known = _MEANINGS.get(code, {}).get(platform) if code is not None else None
    if known:
        return Explained(known, {"code": code})
    return Explained(_UNKNOWN[platform], {"code": errcode, "reason": str(errmsg or "")[:200]})


# How wechatpy writes an answer's error into a stored text (a job's traceback, a sync's error).
_STORED = re.compile(r"Error code: (-?\d+|None), message: ([^\n]*)")


def explain_stored(platform: str, text: str | None) -> Explained | None:
    """The meaning of the last platform error written in `text`, if it holds one."""
    found = _STORED.findall(text or "")
    if not found:
        return None
    errcode, errmsg = found[-1]
    return explain(platform, None if errcode == "None" else errcode, errmsg)
