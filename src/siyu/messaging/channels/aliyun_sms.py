"""Alibaba Cloud SMS (阿里云短信服务, Dysmsapi 2017-05-25): SendSms, and QuerySendDetails to learn
what became of a message after a crash, over a thin httpx client signing every request with
Alibaba Cloud's V3 signature (ACS3-HMAC-SHA256), as its SDK does.

Alibaba Cloud's Python SDK is not used: it brings aiohttp, APScheduler and a cryptography pin
below the one Siyu runs for two calls that need only a signed POST.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import httpx

from siyu.core.settings import Settings
from siyu.messaging.channels.sms import SmsMessage, SmsResult, SmsState, SmsStatus

ENDPOINT = "https://dysmsapi.aliyuncs.com"
VERSION = "2017-05-25"
ALGORITHM = "ACS3-HMAC-SHA256"
# Dysmsapi's dates (QuerySendDetails' SendDate, receipts' times) are Beijing time.
BEIJING = ZoneInfo("Asia/Shanghai")
PAGE_SIZE = 50  # QuerySendDetails' largest page
MAX_PAGES = 4
# Errors worth sending again later: limits, the platform's own trouble, and the account's
# (keys, balance), which an operator fixes while the message waits. Others concern the message.
RETRY = frozenset(
    {
        "isp.SYSTEM_ERROR",
        "isv.BUSINESS_LIMIT_CONTROL",
        "isv.AMOUNT_NOT_ENOUGH",
        "isv.OUT_OF_SERVICE",
        "Throttling.User",
        "Throttling.Api",
        "ServiceUnavailable",
        "InternalError",
        "SignatureDoesNotMatch",
        "InvalidAccessKeyId.NotFound",
        "InvalidAccessKeyId.Inactive",
        "InvalidTimeStamp.Expired",
        "SignatureNonceUsed",
    }
)
# QuerySendDetails' SendStatus: 1 waiting for the receipt, 2 failed, 3 delivered.
SEND_STATUS: dict[int, SmsState] = {1: "sent", 2: "failed", 3: "delivered"}


def encode(value: str) -> str:
    """RFC 3986 percent-encoding, as the canonical query string wants (space → %20, ~ kept)."""
    return quote(value, safe="~")


def canonical_query(params: dict[str, str]) -> str:
    return "&".join(f"{encode(k)}={encode(v)}" for k, v in sorted(params.items()))


def signature(
    secret: str,
    method: str,
    query: str,
    headers: dict[str, str],
    signed: Sequence[str],
    payload_hash: str,
    path: str = "/",
) -> str:
    """The V3 signature of a request: HMAC-SHA256 over the hash of its canonical form."""
    canonical_headers = "".join(f"{name}:{headers[name].strip()}\n" for name in signed)
    canonical = "\n".join([method, path, query, canonical_headers, ";".join(signed), payload_hash])
    to_sign = f"{ALGORITHM}\n{hashlib.sha256(canonical.encode()).hexdigest()}"
    return hmac.new(secret.encode(), to_sign.encode(), hashlib.sha256).hexdigest()


class AliyunError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(f"{code}: {message}")
        self.code = code


class AliyunSms:
    name = "aliyun"

    def __init__(self, access_key_id: str, access_key_secret: str, endpoint: str = ENDPOINT):
        self.access_key_id, self.secret = access_key_id, access_key_secret
        self.endpoint = endpoint.rstrip("/")
        self.http = httpx.Client(timeout=10.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> AliyunSms:
        if not (settings.aliyun_access_key_id and settings.aliyun_access_key_secret):
            raise ValueError("SIYU_ALIYUN_ACCESS_KEY_ID and SIYU_ALIYUN_ACCESS_KEY_SECRET")
        return cls(
            settings.aliyun_access_key_id,
            settings.aliyun_access_key_secret,
            settings.sms_endpoint or ENDPOINT,
        )

    def call(self, action: str, params: dict[str, str]) -> dict[str, Any]:
        """One signed RPC call (POST, parameters in the query); its JSON, or AliyunError."""
        query = canonical_query(params)
        empty = hashlib.sha256(b"").hexdigest()
        headers = {
            "host": urlsplit(self.endpoint).netloc,
            "x-acs-action": action,
            "x-acs-version": VERSION,
            "x-acs-date": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "x-acs-signature-nonce": uuid.uuid4().hex,
            "x-acs-content-sha256": empty,
        }
        signed = sorted(headers)
        sign = signature(self.secret, "POST", query, headers, signed, empty)
        headers["authorization"] = (
            f"{ALGORITHM} Credential={self.access_key_id},"
            f"SignedHeaders={';'.join(signed)},Signature={sign}"
        )
        headers["accept"] = "application/json"
        response = self.http.post(f"{self.endpoint}/?{query}", headers=headers)
        try:
            body = response.json()
        except ValueError:
            raise AliyunError("InvalidResponse", f"HTTP {response.status_code}") from None
        if not isinstance(body, dict) or body.get("Code") != "OK":
            code = str(body.get("Code", "Unknown")) if isinstance(body, dict) else "Unknown"
            message = str(body.get("Message", "")) if isinstance(body, dict) else ""
            raise AliyunError(code, message)
        return body

    def send(self, message: SmsMessage) -> SmsResult:
        if isinstance(message.params, list):
            return SmsResult(message.key, error="content: Aliyun templates name their params")
        params = {
            "PhoneNumbers": phone_number(message.phone),
            "SignName": message.sign_name,
            "TemplateCode": message.template,
            "OutId": message.key,
        }
        if message.params:
            params["TemplateParam"] = _json(message.params)
        try:
            body = self.call("SendSms", params)
        except AliyunError as error:
            return SmsResult(message.key, error=str(error), retry=error.code in RETRY)
        return SmsResult(message.key, provider_id=str(body.get("BizId") or "") or None)

    def lookup(self, messages: Sequence[SmsMessage]) -> dict[str, SmsStatus]:
        """QuerySendDetails for each number, today and yesterday (Beijing), matched by OutId."""
        keys = {m.key for m in messages}
        found: dict[str, SmsStatus] = {}
        for phone in sorted({m.phone for m in messages}):
            for record in self.records(phone):
                key = str(record.get("OutId") or "")
                if key in keys:
                    found[key] = _better(found.get(key), _status(key, record))
        return found

    def records(self, phone: str) -> Iterable[dict[str, Any]]:
        today = datetime.now(BEIJING).date()
        for day in (today - timedelta(days=1), today):
            for page in range(1, MAX_PAGES + 1):
                body = self.call(
                    "QuerySendDetails",
                    {
                        "PhoneNumber": phone_number(phone),
                        "SendDate": day.strftime("%Y%m%d"),
                        "PageSize": str(PAGE_SIZE),
                        "CurrentPage": str(page),
                    },
                )
                rows = (body.get("SmsSendDetailDTOs") or {}).get("SmsSendDetailDTO") or []
                yield from rows
                if len(rows) < PAGE_SIZE:
                    break


def phone_number(phone: str) -> str:
    """Siyu's normal form as Dysmsapi takes it: mainland numbers as they are, others with their
    country code and no '+'."""
    return phone.removeprefix("+")


def _json(params: dict[str, str]) -> str:
    return json.dumps(params, ensure_ascii=False, separators=(",", ":"))


def _status(key: str, record: dict[str, Any]) -> SmsStatus:
    state = SEND_STATUS.get(int(record.get("SendStatus") or 1), "sent")
    error = None if state != "failed" else str(record.get("ErrCode") or "failed")
    return SmsStatus(key, state, error=error)


def _better(old: SmsStatus | None, new: SmsStatus) -> SmsStatus:
    # A message sent twice (before Siyu knew) counts as delivered if either copy was.
    rank = {"failed": 0, "sent": 1, "delivered": 2}
    return new if old is None or rank[new.state] > rank[old.state] else old
