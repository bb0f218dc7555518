"""Outbound WeCom calls: wechatpy's enterprise client where it has the call, our thin httpx
client of the same shape (`client.extras.<call>`) where it does not.
"""

from __future__ import annotations

from functools import lru_cache

import httpx
from wechatpy.enterprise import WeChatClient
from wechatpy.exceptions import APILimitedException, WeChatClientException

from siyu.core.settings import Settings, get_settings
from siyu.wecom.callbacks import NotConfigured

RATE_LIMITED = 45009  # WeCom: "api freq out of limit"
TOKEN_ERRORS = (40001, 40014, 42001)


class WecomClient(WeChatClient):
    """wechatpy's enterprise client, pointed at SIYU_WECOM_API_BASE (the fake server in tests)."""

    def __init__(self, corp_id: str, secret: str, api_base: str):
        super().__init__(corp_id, secret, timeout=10)
        self.API_BASE_URL = api_base.rstrip("/") + "/"
        self.extras = ExternalContactExtras(self)

    def fetch_access_token(self) -> dict:
        return self._fetch_access_token(
            url=f"{self.API_BASE_URL}gettoken",
            params={"corpid": self.corp_id, "corpsecret": self.secret},
        )


class ExternalContactExtras:
    """客户联系 calls wechatpy 1.8 lacks, answering and failing as its calls do."""

    def __init__(self, client: WecomClient):
        self.client = client
        self.http = httpx.Client(timeout=10)

    def batch_get_by_user(self, userids: list[str], cursor: str = "", limit: int = 100) -> dict:
        body = {"userid_list": userids, "cursor": cursor, "limit": limit}
        return self._post("externalcontact/batch/get_by_user", body)

    def transfer_customer(
        self, handover_userid: str, takeover_userid: str, external_userids: list[str]
    ) -> dict:
        """在职继承: move customers between two serving guides (the customer may refuse)."""
        body = {
            "handover_userid": handover_userid,
            "takeover_userid": takeover_userid,
            "external_userid": external_userids,
        }
        return self._post("externalcontact/transfer_customer", body)

    def transfer_result(self, handover_userid: str, takeover_userid: str, cursor: str = "") -> dict:
        body = {
            "handover_userid": handover_userid,
            "takeover_userid": takeover_userid,
            "cursor": cursor,
        }
        return self._post("externalcontact/transfer_result", body)

    def resigned_transfer_customer(
        self, handover_userid: str, takeover_userid: str, external_userids: list[str]
    ) -> dict:
        """离职继承: a departed guide's customers to another guide."""
        body = {
            "handover_userid": handover_userid,
            "takeover_userid": takeover_userid,
            "external_userid": external_userids,
        }
        return self._post("externalcontact/resigned/transfer_customer", body)

    # -- 群发 (a WeCom group send a guide confirms) -----------------------------------------

    def groupmsg_list(
        self, chat_type: str, start_time: int, end_time: int, cursor: str = "", limit: int = 100
    ) -> dict:
        """The group sends the company made (filter_type 0: the API's) in a window of at most a
        month; WeCom leaves `creator` out of the ones the API made."""
        body = {
            "chat_type": chat_type,
            "start_time": start_time,
            "end_time": end_time,
            "filter_type": 0,
            "limit": limit,
            "cursor": cursor,
        }
        return self._post("externalcontact/get_groupmsg_list_v2", body)

    def groupmsg_task(self, msgid: str, cursor: str = "", limit: int = 1000) -> dict:
        """Per guide: whether they confirmed the send (status 0 not sent, 2 sent)."""
        return self._post(
            "externalcontact/get_groupmsg_task", {"msgid": msgid, "limit": limit, "cursor": cursor}
        )

    def groupmsg_send_result(
        self, msgid: str, userid: str, cursor: str = "", limit: int = 1000
    ) -> dict:
        """Per customer (or group chat) of one guide: 0 not sent, 1 sent, 2 not a friend,
        3 had already received a 群发 that day."""
        body = {"msgid": msgid, "userid": userid, "limit": limit, "cursor": cursor}
        return self._post("externalcontact/get_groupmsg_send_result", body)

    def remind_groupmsg_send(self, msgid: str) -> dict:
        """Notify the guides again (WeCom allows three reminders a send in 24 hours)."""
        return self._post("externalcontact/remind_groupmsg_send", {"msgid": msgid})

    def cancel_groupmsg_send(self, msgid: str) -> dict:
        """Stop a send the guides have not confirmed yet."""
        return self._post("externalcontact/cancel_groupmsg_send", {"msgid": msgid})

    def _post(self, endpoint: str, body: dict, retried: bool = False) -> dict:
        url = f"{self.client.API_BASE_URL}{endpoint}"
        response = self.http.post(url, params={"access_token": self.client.access_token}, json=body)
        response.raise_for_status()
        result = response.json()
        code = int(result.get("errcode", 0))
        if code in TOKEN_ERRORS and not retried:
            self.client.fetch_access_token()
            return self._post(endpoint, body, retried=True)
        if code == RATE_LIMITED:
            raise APILimitedException(code, result.get("errmsg"), client=self.client)
        if code != 0:
            raise WeChatClientException(code, result.get("errmsg"), client=self.client)
        return result


def get_client(settings: Settings | None = None) -> WecomClient:
    settings = settings or get_settings()
    if not (settings.wecom_corp_id and settings.wecom_secret):
        raise NotConfigured("set SIYU_WECOM_CORP_ID and SIYU_WECOM_SECRET", field="wecom")
    return _client(settings.wecom_corp_id, settings.wecom_secret, settings.wecom_api_base)


@lru_cache(maxsize=8)
def _client(corp_id: str, secret: str, api_base: str) -> WecomClient:
    # One client per configuration keeps its access token (valid 2 h) between calls.
    return WecomClient(corp_id, secret, api_base)


def app_client(settings: Settings | None = None) -> WecomClient:
    """The self-built app's client (its own secret and token): the JS-SDK's tickets are its."""
    settings = settings or get_settings()
    if not (settings.wecom_corp_id and settings.wecom_agent_secret):
        raise NotConfigured(
            "set SIYU_WECOM_CORP_ID, SIYU_WECOM_AGENT_ID and SIYU_WECOM_AGENT_SECRET", field="wecom"
        )
    return _client(settings.wecom_corp_id, settings.wecom_agent_secret, settings.wecom_api_base)
