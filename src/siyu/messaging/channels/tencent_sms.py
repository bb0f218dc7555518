"""Tencent Cloud SMS (腾讯云短信, API 2021-01-11) through Tencent's own client library, which signs
each request (TC3-HMAC-SHA256): SendSms, and PullSmsSendStatusByPhoneNumber to learn what became
of a message after a crash (matched by the SessionContext it was sent with)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from tencentcloud.common import credential
from tencentcloud.common.exception.tencent_cloud_sdk_exception import TencentCloudSDKException
from tencentcloud.common.profile.client_profile import ClientProfile
from tencentcloud.common.profile.http_profile import HttpProfile
from tencentcloud.sms.v20210111 import models, sms_client

from siyu.core.settings import Settings
from siyu.messaging.channels.sms import SmsMessage, SmsResult, SmsStatus

ENDPOINT = "sms.tencentcloudapi.com"
LOOKBACK_SECONDS = 24 * 3600
PAGE = 100  # PullSmsSendStatusByPhoneNumber's largest Limit
# Errors worth sending again later: the platform's own trouble, rate limits, the account's keys
# and balance (an operator fixes them while the message waits). Others concern the message.
RETRY_PREFIXES = ("InternalError", "AuthFailure", "RequestLimitExceeded", "ClientNetworkError")
RETRY = frozenset(
    {
        "LimitExceeded.PhoneNumberThirtySecondLimit",
        "LimitExceeded.PhoneNumberOneHourLimit",
        "FailedOperation.InsufficientBalanceInSmsPackage",
        "FailedOperation.ContainSensitiveWord.Frequency",
    }
)


def retried(code: str) -> bool:
    return code in RETRY or code.startswith(RETRY_PREFIXES)


class TencentSms:
    name = "tencent"

    def __init__(
        self,
        secret_id: str,
        secret_key: str,
        sdk_app_id: str,
        region: str = "ap-guangzhou",
        endpoint: str = "",
    ):
        self.sdk_app_id = sdk_app_id
        http = HttpProfile(endpoint=ENDPOINT, reqTimeout=10)
        if endpoint:  # an address such as http://127.0.0.1:8900 (a fake, a proxy)
            parts = urlsplit(endpoint)
            http = HttpProfile(protocol=parts.scheme, endpoint=parts.netloc, reqTimeout=10)
        self.client = sms_client.SmsClient(
            credential.Credential(secret_id, secret_key), region, ClientProfile(httpProfile=http)
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> TencentSms:
        if not (
            settings.tencent_secret_id
            and settings.tencent_secret_key
            and settings.tencent_sms_sdk_app_id
        ):
            raise ValueError(
                "SIYU_TENCENT_SECRET_ID, SIYU_TENCENT_SECRET_KEY and SIYU_TENCENT_SMS_SDK_APP_ID"
            )
        return cls(
            settings.tencent_secret_id,
            settings.tencent_secret_key,
            settings.tencent_sms_sdk_app_id,
            settings.tencent_sms_region,
            settings.sms_endpoint,
        )

    def send(self, message: SmsMessage) -> SmsResult:
        params = message.params
        request = models.SendSmsRequest()
        request.PhoneNumberSet = [e164(message.phone)]
        request.SmsSdkAppId = self.sdk_app_id
        request.SignName = message.sign_name
        request.TemplateId = message.template
        # Tencent's template variables are positional: a mapping is taken in its order.
        request.TemplateParamSet = list(params.values() if isinstance(params, dict) else params)
        request.SessionContext = message.key
        try:
            response = self.client.SendSms(request)
        except TencentCloudSDKException as error:
            code = str(error.get_code() or "")
            return SmsResult(
                message.key, error=f"{code}: {error.get_message()}", retry=retried(code)
            )
        status = (response.SendStatusSet or [None])[0]
        if status is None:
            return SmsResult(message.key, error="SendSms answered no status", retry=True)
        if status.Code != "Ok":
            code = str(status.Code)
            return SmsResult(message.key, error=f"{code}: {status.Message}", retry=retried(code))
        return SmsResult(message.key, provider_id=status.SerialNo)

    def lookup(self, messages: Sequence[SmsMessage]) -> dict[str, SmsStatus]:
        """The receipts of the last day for each number, matched by SessionContext. A message
        whose receipt has not come yet is not in the answer."""
        keys = {m.key for m in messages}
        found: dict[str, SmsStatus] = {}
        for phone in sorted({m.phone for m in messages}):
            for row in self.receipts(phone):
                key = str(getattr(row, "SessionContext", "") or "")
                if key in keys:
                    found[key] = receipt_status(key, row)
        return found

    def receipts(self, phone: str) -> list[Any]:
        now = int(time.time()) + 1  # EndTime is whole seconds: this second counts
        rows: list[Any] = []
        offset = 0
        while True:
            request = models.PullSmsSendStatusByPhoneNumberRequest()
            request.SmsSdkAppId = self.sdk_app_id
            request.PhoneNumber = e164(phone)
            request.BeginTime = now - LOOKBACK_SECONDS
            request.EndTime = now
            request.Offset = offset
            request.Limit = PAGE
            page = self.client.PullSmsSendStatusByPhoneNumber(request).PullSmsSendStatusSet or []
            rows.extend(page)
            if len(page) < PAGE:
                return rows
            offset += PAGE


def receipt_status(key: str, row: Any) -> SmsStatus:
    if row.ReportStatus == "SUCCESS":
        return SmsStatus(key, "delivered", provider_id=row.SerialNo)
    return SmsStatus(key, "failed", provider_id=row.SerialNo, error=str(row.Description or "FAIL"))


def e164(phone: str) -> str:
    """Siyu's normal form as Tencent takes it: +86 before a mainland number."""
    return phone if phone.startswith("+") else f"+86{phone}"
