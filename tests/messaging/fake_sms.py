"""A fake Alibaba Cloud SMS (Dysmsapi) and Tencent Cloud SMS on 127.0.0.1: one HTTP server that
checks each request's signature as the provider does (Alibaba Cloud's V3 ACS3-HMAC-SHA256,
Tencent's TC3-HMAC-SHA256), answers the providers' JSON (their error JSON for a wrong key or
signature), records the messages, and writes the receipts and replies the providers push."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit
from zoneinfo import ZoneInfo

ALIYUN_KEY_ID, ALIYUN_SECRET = "LTAI-fake-key-id", "fake-aliyun-secret"
TENCENT_ID, TENCENT_KEY = "AKID-fake-secret-id", "fake-tencent-secret-key"
TENCENT_APP = "1400000001"
BEIJING = ZoneInfo("Asia/Shanghai")


@dataclass
class Sms:
    """One message the fake accepted."""

    provider: str
    phone: str  # as the provider was given it (13700000000 / +8613700000000)
    sign_name: str
    template: str
    params: Any
    key: str  # OutId / SessionContext
    provider_id: str
    sent_at: datetime
    receipt: bool | None = None  # None: no receipt yet; True delivered; False failed


@dataclass
class FakeSmsState:
    messages: list[Sms] = field(default_factory=list)
    # Business errors to answer the next sends with, by provider: (code, message).
    fail_next: dict[str, list[tuple[str, str]]] = field(default_factory=dict)
    refused: list[dict[str, Any]] = field(default_factory=list)  # requests refused, and why
    nonces: set[str] = field(default_factory=set)

    def sent(self, provider: str | None = None) -> list[Sms]:
        return [m for m in self.messages if provider in (None, m.provider)]


class FakeSms:
    """`with FakeSms() as fake:` — `fake.endpoint` is the address for SIYU_SMS_ENDPOINT."""

    def __init__(self) -> None:
        self.state = FakeSmsState()
        self._ids = itertools.count(100001)
        self._lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> FakeSms:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    # What the providers push to the brand's addresses.
    def receipt(self, message: Sms, delivered: bool = True) -> dict[str, Any]:
        """Mark a message delivered or failed; its receipt as the provider pushes it."""
        message.receipt = delivered
        now = datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        if message.provider == "aliyun":
            return {
                "phone_number": message.phone,
                "send_time": message.sent_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                "report_time": now,
                "success": delivered,
                "err_code": "DELIVERED" if delivered else "MK:0001",
                "err_msg": "用户接收成功" if delivered else "空号",
                "sms_size": "1",
                "biz_id": message.provider_id,
                "out_id": message.key,
            }
        return {
            "user_receive_time": now,
            "nationcode": "86",
            "mobile": message.phone.removeprefix("+86"),
            "report_status": "SUCCESS" if delivered else "FAIL",
            "errmsg": "DELIVRD" if delivered else "MK:0001",
            "description": "用户短信送达成功" if delivered else "空号",
            "sid": message.provider_id,
        }

    @staticmethod
    def aliyun_reply(phone: str, text: str, sequence_id: int) -> dict[str, Any]:
        """An SmsUp message (a customer's reply) as Alibaba Cloud pushes it."""
        return {
            "phone_number": phone,
            "send_time": datetime.now(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
            "content": text,
            "sign_name": "思域",
            "dest_code": "",
            "sequence_id": sequence_id,
        }

    @staticmethod
    def tencent_reply(phone: str, text: str, at: int | None = None) -> dict[str, Any]:
        """A reply as Tencent Cloud calls it back."""
        return {
            "extend": "",
            "mobile": phone,
            "nationcode": "86",
            "sign": "思域",
            "text": text,
            "time": at or int(time.time()),
        }

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {k.lower(): v for k, v in self.headers.items()}
                if "x-tc-action" in headers:
                    status, answer = fake._tencent(self.path, headers, body)
                    kind = "application/json"  # as Tencent's API answers
                else:
                    status, answer = fake._aliyun(self.path, headers, body)
                    kind = "application/json;charset=utf-8"
                raw = json.dumps(answer, ensure_ascii=False).encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler

    # Alibaba Cloud: Dysmsapi 2017-05-25, V3 signature.
    def _aliyun(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        parts = urlsplit(path)
        query = dict(parse_qsl(parts.query, keep_blank_values=True))
        refusal = self._aliyun_refusal(parts.path or "/", query, headers, body)
        if refusal:
            self.state.refused.append(refusal[1])
            return refusal
        params = {**query, **dict(parse_qsl(body.decode(), keep_blank_values=True))}
        action = headers.get("x-acs-action", "")
        if action == "SendSms":
            return 200, self._aliyun_send(params)
        if action == "QuerySendDetails":
            return 200, self._aliyun_details(params)
        return 404, _aliyun_error("InvalidAction.NotFound", f"Specified api is not found: {action}")

    def _aliyun_refusal(
        self, path: str, query: dict[str, str], headers: dict[str, str], body: bytes
    ) -> tuple[int, dict] | None:
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(p.split("=", 1) for p in rest.split(",") if "=" in p)
        if algorithm != "ACS3-HMAC-SHA256" or not {
            "Credential",
            "SignedHeaders",
            "Signature",
        } <= set(fields):
            return 400, _aliyun_error("IncompleteSignature", "The request signature is incomplete.")
        if fields["Credential"] != ALIYUN_KEY_ID:
            return 404, _aliyun_error(
                "InvalidAccessKeyId.NotFound", "Specified access key is not found."
            )
        stamp = headers.get("x-acs-date", "")
        try:
            at = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            return 400, _aliyun_error(
                "InvalidTimeStamp.Format", "Specified time stamp is not valid."
            )
        if abs((datetime.now(UTC) - at).total_seconds()) > 900:
            return 400, _aliyun_error(
                "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )
        payload_hash = hashlib.sha256(body).hexdigest()
        if headers.get("x-acs-content-sha256") != payload_hash:
            return 400, _aliyun_error(
                "ContentSHA256NotMatch", "x-acs-content-sha256 does not match the body."
            )
        signed = fields["SignedHeaders"].split(";")
        needed = {"host", "x-acs-action", "x-acs-version", "x-acs-date", "x-acs-signature-nonce"}
        if not needed <= set(signed) or any(name not in headers for name in signed):
            return 400, _aliyun_error("IncompleteSignature", "SignedHeaders misses a header.")
        canonical_query = "&".join(
            f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in sorted(query.items())
        )
        canonical = "\n".join(
            [
                "POST",
                path,
                canonical_query,
                "".join(f"{name}:{headers[name].strip()}\n" for name in signed),
                ";".join(signed),
                payload_hash,
            ]
        )
        to_sign = "ACS3-HMAC-SHA256\n" + hashlib.sha256(canonical.encode()).hexdigest()
        expected = hmac.new(ALIYUN_SECRET.encode(), to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return 400, _aliyun_error(
                "SignatureDoesNotMatch",
                f"Specified signature does not match our calculation. "
                f"The string to sign is: {to_sign}",
            )
        nonce = headers["x-acs-signature-nonce"]
        with self._lock:
            if nonce in self.state.nonces:
                return 400, _aliyun_error(
                    "SignatureNonceUsed", "Specified signature nonce was used already."
                )
            self.state.nonces.add(nonce)
        return None

    def _aliyun_send(self, params: dict[str, str]) -> dict:
        for name in ("PhoneNumbers", "SignName", "TemplateCode"):
            if not params.get(name):
                return _aliyun_error(f"Missing{name}", f"{name} is mandatory for this action.")
        failure = self._failure("aliyun")
        if failure:
            return _aliyun_error(*failure)
        try:
            variables = json.loads(params.get("TemplateParam") or "{}")
        except ValueError:
            return _aliyun_error("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        biz_id = f"{next(self._ids)}^0"
        for phone in params["PhoneNumbers"].split(","):
            self._record("aliyun", phone, params, variables, params.get("OutId", ""), biz_id)
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": _request_id()}

    def _aliyun_details(self, params: dict[str, str]) -> dict:
        day = params.get("SendDate", "")
        rows = [
            {
                "PhoneNum": m.phone,
                "SendStatus": {None: 1, True: 3, False: 2}[m.receipt],
                "ErrCode": {None: "", True: "DELIVERED", False: "MK:0001"}[m.receipt],
                "TemplateCode": m.template,
                "Content": f"【{m.sign_name}】{m.params}",
                "SendDate": m.sent_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S"),
                "ReceiveDate": "",
                "OutId": m.key,
            }
            for m in self.state.sent("aliyun")
            if m.phone == params.get("PhoneNumber")
            and m.sent_at.astimezone(BEIJING).strftime("%Y%m%d") == day
        ]
        size, page = int(params.get("PageSize") or 10), int(params.get("CurrentPage") or 1)
        return {
            "Code": "OK",
            "Message": "OK",
            "RequestId": _request_id(),
            "TotalCount": len(rows),
            "SmsSendDetailDTOs": {"SmsSendDetailDTO": rows[(page - 1) * size : page * size]},
        }

    # Tencent Cloud: SMS 2021-01-11, TC3-HMAC-SHA256.
    def _tencent(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
        refusal = self._tencent_refusal(urlsplit(path).path or "/", headers, body)
        if refusal:
            self.state.refused.append(refusal)
            return 200, _tencent_error(*refusal)
        try:
            params = json.loads(body or b"{}")
        except ValueError:
            return 200, _tencent_error("InvalidParameter", "The body is not JSON.")
        if params.get("SmsSdkAppId") != TENCENT_APP:
            return 200, _tencent_error(
                "FailedOperation.SmsSdkAppIdVerifyFail", "SdkAppId verify failed."
            )
        action = headers["x-tc-action"]
        if action == "SendSms":
            return 200, self._tencent_send(params)
        if action == "PullSmsSendStatusByPhoneNumber":
            return 200, self._tencent_receipts(params)
        return 200, _tencent_error("InvalidAction", f"The action {action} does not exist.")

    def _tencent_refusal(
        self, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[str, str] | None:
        auth = headers.get("authorization", "")
        algorithm, _, rest = auth.partition(" ")
        fields = dict(p.strip().split("=", 1) for p in rest.split(",") if "=" in p)
        if algorithm != "TC3-HMAC-SHA256" or not {
            "Credential",
            "SignedHeaders",
            "Signature",
        } <= set(fields):
            return "AuthFailure.InvalidAuthorization", "Authorization header is invalid."
        secret_id, _, scope = fields["Credential"].partition("/")
        day, service, terminal = (scope.split("/") + ["", "", ""])[:3]
        if secret_id != TENCENT_ID:
            return (
                "AuthFailure.SecretIdNotFound",
                "The SecretId is not found, please ensure that your SecretId is correct.",
            )
        stamp = headers.get("x-tc-timestamp", "")
        if not stamp.isdigit() or abs(time.time() - int(stamp)) > 300:
            return (
                "AuthFailure.SignatureExpire",
                "Signature expired. Timestamp and server time cannot differ by more than "
                "5 minutes.",
            )
        if (
            day != datetime.fromtimestamp(int(stamp), UTC).strftime("%Y-%m-%d")
            or terminal != "tc3_request"
        ):
            return "AuthFailure.InvalidAuthorization", "Credential scope is invalid."
        signed = fields["SignedHeaders"].split(";")
        if not {"content-type", "host"} <= set(signed) or any(n not in headers for n in signed):
            return (
                "AuthFailure.InvalidAuthorization",
                "SignedHeaders must contain content-type and host.",
            )
        canonical = "\n".join(
            [
                "POST",
                path,
                "",
                "".join(f"{n}:{headers[n].strip().lower()}\n" for n in signed),
                ";".join(signed),
                hashlib.sha256(body).hexdigest(),
            ]
        )
        to_sign = "\n".join(
            ["TC3-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
        )
        key = _hmac(("TC3" + TENCENT_KEY).encode(), day)
        for part in (service, "tc3_request"):
            key = _hmac(key, part)
        expected = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, fields["Signature"]):
            return (
                "AuthFailure.SignatureFailure",
                "The provided credentials could not be validated. "
                "Please check your signature is correct.",
            )
        return None

    def _tencent_send(self, params: dict[str, Any]) -> dict:
        for name in ("PhoneNumberSet", "TemplateId"):
            if not params.get(name):
                return _tencent_error(
                    "MissingParameter", f"The request is missing a required parameter `{name}`."
                )
        statuses = []
        for phone in params["PhoneNumberSet"]:
            failure = self._failure("tencent")
            serial = f"{next(self._ids)}:{uuid.uuid4().hex[:16]}"
            if failure:
                statuses.append(_tencent_status(phone, "", params, *failure))
                continue
            self._record(
                "tencent",
                phone,
                params,
                params.get("TemplateParamSet") or [],
                params.get("SessionContext", ""),
                serial,
            )
            statuses.append(_tencent_status(phone, serial, params, "Ok", "send success"))
        return {"Response": {"SendStatusSet": statuses, "RequestId": _request_id()}}

    def _tencent_receipts(self, params: dict[str, Any]) -> dict:
        begin, end = int(params.get("BeginTime") or 0), int(params.get("EndTime") or 2**40)
        rows = [
            {
                "UserReceiveTime": int(m.sent_at.timestamp()),
                "CountryCode": "86",
                "SubscriberNumber": m.phone.removeprefix("+86"),
                "PhoneNumber": m.phone,
                "SerialNo": m.provider_id,
                "ReportStatus": "SUCCESS" if m.receipt else "FAIL",
                "Description": "用户短信送达成功" if m.receipt else "MK:0001",
                "SessionContext": m.key,
            }
            for m in self.state.sent("tencent")
            if m.phone == params.get("PhoneNumber")
            and m.receipt is not None
            and begin <= m.sent_at.timestamp() <= end
        ]
        offset, limit = int(params.get("Offset") or 0), int(params.get("Limit") or 100)
        return {
            "Response": {
                "PullSmsSendStatusSet": rows[offset : offset + limit],
                "RequestId": _request_id(),
            }
        }

    def _failure(self, provider: str) -> tuple[str, str] | None:
        with self._lock:
            waiting = self.state.fail_next.get(provider) or []
            return waiting.pop(0) if waiting else None

    def _record(
        self, provider: str, phone: str, params: dict, variables: Any, key: str, pid: str
    ) -> None:
        sign = params.get("SignName", "")
        template = params.get("TemplateCode") or params.get("TemplateId") or ""
        with self._lock:
            self.state.messages.append(
                Sms(provider, phone, sign, template, variables, key, pid, datetime.now(UTC))
            )


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _request_id() -> str:
    return str(uuid.uuid4()).upper()


def _aliyun_error(code: str, message: str) -> dict:
    return {
        "RequestId": _request_id(),
        "HostId": "dysmsapi.aliyuncs.com",
        "Code": code,
        "Message": message,
        "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
    }


def _tencent_error(code: str, message: str) -> dict:
    return {"Response": {"Error": {"Code": code, "Message": message}, "RequestId": _request_id()}}


def _tencent_status(phone: str, serial: str, params: dict, code: str, message: str) -> dict:
    return {
        "SerialNo": serial,
        "PhoneNumber": phone,
        "Fee": 1 if code == "Ok" else 0,
        "SessionContext": params.get("SessionContext", ""),
        "Code": code,
        "Message": message,
        "IsoCode": "CN",
    }
