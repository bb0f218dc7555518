"""wechatpy's official-account client, pointed at SIYU_WECHAT_API_BASE."""

from __future__ import annotations

from functools import lru_cache

from wechatpy import WeChatClient

from siyu.core.settings import Settings, get_settings
from siyu.wechat.callbacks import NotConfigured


class OfficialAccountClient(WeChatClient):
    def __init__(self, app_id: str, secret: str, api_base: str):
        super().__init__(app_id, secret, timeout=10)
        self.API_BASE_URL = api_base.rstrip("/") + "/"

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}token",
            params={"grant_type": "client_credential", "appid": self.appid, "secret": self.secret},
        )

    def send_template_message(self, message: dict) -> dict:
        """message/template/send: touser, template_id, data, and url or miniprogram; its
        client_msg_id (防重入 id) makes a message sent again with the same id go once."""
        return self.post("message/template/send", data=message)

    def send_service_text(self, openid: str, text: str) -> dict:
        """message/custom/send (客服消息): only within 48 hours of the follower's last
        interaction; WeChat answers 45015 outside it."""
        body = {"touser": openid, "msgtype": "text", "text": {"content": text}}
        return self.post("message/custom/send", data=body)


def get_client(settings: Settings | None = None) -> OfficialAccountClient:
    settings = settings or get_settings()
    if not (settings.wechat_app_id and settings.wechat_secret):
        raise NotConfigured("set SIYU_WECHAT_APP_ID and SIYU_WECHAT_SECRET", field="wechat")
    return _client(settings.wechat_app_id, settings.wechat_secret, settings.wechat_api_base)


@lru_cache(maxsize=8)
def _client(app_id: str, secret: str, api_base: str) -> OfficialAccountClient:
    return OfficialAccountClient(app_id, secret, api_base)
