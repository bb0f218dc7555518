"""Domain errors that carry their HTTP status, a code and the field that was wrong."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class SiyuError(Exception):
    """`template` is the message id and `params` its %-values, so a page translates the id
    first and fills the values in after; `message` is the English text, filled in."""

    status = 400
    code = "invalid"

    def __init__(
        self,
        message: str,
        *,
        field: str | None = None,
        code: str | None = None,
        params: dict[str, Any] | None = None,
    ):
        self.template = message
        self.params = dict(params or {})
        self.message = message % self.params if self.params else message
        super().__init__(self.message)
        self.field = field
        if code:
            self.code = code

    def read(self, gettext: Callable[[str], str]) -> str:
        """The message in a reader's language: the template translated, then filled in."""
        text = gettext(self.template)
        return text % self.params if self.params else text

    def to_dict(self) -> dict[str, Any]:
        body = {"code": self.code, "message": self.message}
        if self.field:
            body["field"] = self.field
        return body

    def answer(self) -> dict[str, Any]:
        """The JSON body an API answers it with."""
        return {"success": False, "error": self.to_dict()}


class InvalidInput(SiyuError):
    status = 400
    code = "invalid"


class NotFound(SiyuError):
    status = 404
    code = "not_found"


class Conflict(SiyuError):
    status = 409
    code = "conflict"


class Forbidden(SiyuError):
    status = 403
    code = "forbidden"


class Unauthorized(SiyuError):
    status = 401
    code = "unauthorized"


class TooLarge(SiyuError):
    status = 413
    code = "too_large"


class PlatformRefused(SiyuError):
    """WeCom or the official account answered a call with an error code."""

    status = 502
    code = "platform_refused"

    @classmethod
    def of(cls, platform: str, failure: Any) -> PlatformRefused:
        """From wechatpy's WeChatClientException (errcode, errmsg)."""
        return cls(
            f"{platform} answered {failure.errcode}: {failure.errmsg}", field=platform.lower()
        )
