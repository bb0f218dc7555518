"""SMS (短信): the provider interface both adapters implement (Alibaba Cloud, Tencent Cloud), and
the `sms` channel's Sender built on it.

A message is a provider template (模板) with its variables, signed with an approved sign name
(签名). Each message is its own request, carrying the delivery's key as the provider's
idempotency field (Aliyun's OutId, Tencent's SessionContext): the providers' batch forms
(SendBatchSms, a SendSms to many numbers) take one key per request, and a crash in the middle of
one would leave Siyu guessing which of its numbers went. At the providers' rates (5,000 and 3,000
requests a second) one message a request is not what limits a broadcast.

An accepted message is `sent` (the carrier has it; its receipt, messaging.inbound, tells
delivered or failed later).
"""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from siyu.core.settings import Settings
from siyu.messaging.models import Channel
from siyu.messaging.sending import Outcome, Outgoing

PROVIDERS = ("aliyun", "tencent")
PARALLEL = 8  # requests in flight at once: a batch of 200 takes a few round trips, not 200
SmsState = Literal["sent", "delivered", "failed"]


@dataclass(frozen=True)
class SmsMessage:
    """One message as a provider sends it. `phone` is in Siyu's normal form (11 digits for the
    Chinese mainland, +country… elsewhere); `params` names the template's variables (Aliyun) or
    lists them in order (Tencent; a mapping is taken in its order)."""

    key: str
    phone: str
    sign_name: str
    template: str
    params: dict[str, str] | list[str]


@dataclass(frozen=True)
class SmsResult:
    """What a provider answered for one message: its id, or an error (`retry`: worth trying
    again, such as a rate limit, a timeout or keys being fixed)."""

    key: str
    provider_id: str | None = None
    error: str | None = None
    retry: bool = False


@dataclass(frozen=True)
class SmsStatus:
    """What a provider knows of a message it was sent (a receipt, or its records)."""

    key: str
    state: SmsState
    provider_id: str | None = None
    error: str | None = None


class SmsProvider(Protocol):
    name: str

    def send(self, message: SmsMessage) -> SmsResult: ...

    def lookup(self, messages: Sequence[SmsMessage]) -> dict[str, SmsStatus]:
        """The provider's record of these messages (by key) sent in the last day; a message
        missing from the answer is one the provider has no record of."""
        ...


class SmsSender:
    """The `sms` channel's Sender over one provider."""

    channel = "sms"

    def __init__(self, provider: SmsProvider, default_sign_name: str = ""):
        self.provider = provider
        self.default_sign_name = default_sign_name

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        ready: list[tuple[Outgoing, SmsMessage]] = []
        for item in batch:
            message = self.message(item)
            if isinstance(message, str):
                outcomes.append(Outcome(item.delivery_id, "failed", error=message))
            else:
                ready.append((item, message))
        with ThreadPoolExecutor(PARALLEL) as pool:
            results = pool.map(self._send_one, [message for _, message in ready])
            for (item, _), result in zip(ready, results, strict=True):
                outcomes.append(_outcome(item, result))
        return outcomes

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        """What the provider's records say of deliveries a crash left `sending` (None: it has
        no record of one, so the dispatcher sends it again with the same key)."""
        messages = [(item, self.message(item)) for item in batch]
        known = self.provider.lookup([m for _, m in messages if isinstance(m, SmsMessage)])
        return [_settled(item, message, known) for item, message in messages]

    def message(self, item: Outgoing) -> SmsMessage | str:
        """The provider's message for a delivery, or what is wrong with its content."""
        content = item.content
        template = str(content.get("template") or "").strip()
        sign_name = str(content.get("sign_name") or self.default_sign_name).strip()
        params = content.get("params") or {}
        if not template:
            return "content: no SMS template code (content.template)"
        if not sign_name:
            return "content: no SMS sign name (content.sign_name or the channel's sign_name)"
        if not isinstance(params, (dict, list)):
            return "content: SMS params are an object (Aliyun) or a list (Tencent)"
        return SmsMessage(item.key, item.address, sign_name, template, _strings(params))

    def _send_one(self, message: SmsMessage) -> SmsResult:
        try:
            return self.provider.send(message)
        except Exception as problem:  # the network: the message may or may not have gone
            return SmsResult(message.key, error=f"{type(problem).__name__}: {problem}", retry=True)


def _outcome(item: Outgoing, result: SmsResult) -> Outcome:
    if result.error is None:
        return Outcome(item.delivery_id, "sent", provider_id=result.provider_id)
    return Outcome(item.delivery_id, "failed", error=result.error, retry=result.retry)


def _settled(
    item: Outgoing, message: SmsMessage | str, known: dict[str, SmsStatus]
) -> Outcome | None:
    if isinstance(message, str):  # never sendable, so it never went
        return Outcome(item.delivery_id, "failed", error=message)
    status = known.get(item.key)
    return None if status is None else status_outcome(item.delivery_id, status)


def status_outcome(delivery_id: int, status: SmsStatus) -> Outcome:
    """A provider's word on a message (a receipt, a record) as an outcome of its delivery."""
    return Outcome(delivery_id, status.state, provider_id=status.provider_id, error=status.error)


def _strings(params: dict[str, Any] | list[Any]) -> dict[str, str] | list[str]:
    # Both providers take template variables as text only.
    if isinstance(params, dict):
        return {str(name): str(value) for name, value in params.items()}
    return [str(value) for value in params]


def sender_for(settings: Settings, channel_row: Channel | None) -> SmsSender:
    """The live `sms` sender: the channel's provider (else SIYU_SMS_PROVIDER) with its keys from
    the settings; raises ValueError naming what to set when something is missing."""
    config = (channel_row.config if channel_row is not None else None) or {}
    name = (channel_row.provider if channel_row is not None else None) or settings.sms_provider
    if name not in PROVIDERS:
        raise ValueError("SIYU_SMS_PROVIDER (aliyun or tencent)")
    provider: SmsProvider
    if name == "aliyun":
        from siyu.messaging.channels.aliyun_sms import AliyunSms

        provider = AliyunSms.from_settings(settings)
    else:
        from siyu.messaging.channels.tencent_sms import TencentSms

        provider = TencentSms.from_settings(settings)
    return SmsSender(provider, default_sign_name=str(config.get("sign_name") or ""))
