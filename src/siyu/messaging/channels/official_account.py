"""The official account's sender: template messages to followers, and customer-service messages
(客服消息) inside the 48 hours after a follower's last interaction.

A delivery's address is the follower's openid. Content with a `template_id` is a template message
(message/template/send: data, and url or miniprogram), sent with the delivery's key as its
client_msg_id so a batch sent again after a crash goes once; content with only `text` is a
customer-service message (message/custom/send), refused here as `outside_48h` when the follower's
last interaction (kept by the account's callbacks) is older.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from siyu.core.db import session_factory, utcnow
from siyu.core.settings import Settings
from siyu.messaging.models import Channel, Suppression
from siyu.messaging.sending import Outcome, Outgoing
from siyu.messaging.service import suppress
from siyu.wechat.client import OfficialAccountClient, get_client
from siyu.wechat.service import SERVICE_WINDOW, last_interactions

RATE_LIMITED = 45009
RETRYABLE = (-1, RATE_LIMITED)
# WeChat's answers that say the follower cannot get this message (not a platform failure).
REASONS = {43004: "unfollowed", 45015: "outside_48h", 40003: "invalid_recipient", 43101: "refused"}
LastInteractions = Callable[[Collection[str]], dict[str, datetime | None]]


def read_last_interactions(openids: Collection[str]) -> dict[str, datetime | None]:
    """The followers' last interactions, read in a session of its own (a sender writes nothing)."""
    with session_factory()() as session:
        return last_interactions(session, openids)


class OfficialAccountSender:
    """The `official_account` channel's Sender (messaging.sending)."""

    channel = "official_account"

    def __init__(
        self,
        settings: Settings | None = None,
        row: Channel | None = None,
        *,
        client: OfficialAccountClient | None = None,
        interactions: LastInteractions = read_last_interactions,
        clock: Callable[[], datetime] = utcnow,
    ):
        # Built by the dispatcher from the settings (raises NotConfigured when WeChat is not set).
        self.client = client or get_client(settings)
        self.interactions = interactions
        self.clock = clock

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        service = [o for o in batch if not o.content.get("template_id")]
        opened = self._inside_window([o.address for o in service]) if service else set()
        outcomes = []
        for outgoing in batch:
            if outgoing.content.get("template_id"):
                outcomes.append(self._template(outgoing))
            elif outgoing.address not in opened:
                outcomes.append(Outcome(outgoing.delivery_id, "failed", error="outside_48h"))
            else:
                outcomes.append(self._service_text(outgoing))
        return outcomes

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        """Template messages are sent again with the same client_msg_id, which WeChat sends once;
        a customer-service message cannot be looked up (None: unknown)."""
        return [self._template(o) if o.content.get("template_id") else None for o in batch]

    def _inside_window(self, openids: list[str]) -> set[str]:
        now = self.clock()
        return {
            openid
            for openid, at in self.interactions(openids).items()
            if at is not None and now - at < SERVICE_WINDOW
        }

    def _template(self, outgoing: Outgoing) -> Outcome:
        content = outgoing.content
        message: dict[str, Any] = {
            "touser": outgoing.address,
            "template_id": content["template_id"],
            "data": _data(content.get("data") or {}),
            "client_msg_id": outgoing.key[:64],
        }
        if content.get("url"):
            message["url"] = content["url"]
        if content.get("miniprogram"):
            message["miniprogram"] = content["miniprogram"]
        return self._call(outgoing, lambda: self.client.send_template_message(message))

    def _service_text(self, outgoing: Outgoing) -> Outcome:
        text = str(outgoing.content.get("text") or "")
        return self._call(outgoing, lambda: self.client.send_service_text(outgoing.address, text))

    def _call(self, outgoing: Outgoing, call: Callable[[], dict]) -> Outcome:
        try:
            answer = call()
        except WeChatClientException as error:
            return _refused(outgoing, error)
        msgid = answer.get("msgid")
        return Outcome(outgoing.delivery_id, "sent", provider_id=str(msgid) if msgid else None)


def _data(data: dict[str, Any]) -> dict[str, Any]:
    """A template's fields as WeChat takes them ({"value": …}), a bare value wrapped."""
    return {k: v if isinstance(v, dict) else {"value": str(v)} for k, v in data.items()}


def _refused(outgoing: Outgoing, error: WeChatClientException) -> Outcome:
    code = error.errcode
    if code is None:  # no answer: a template goes again under its client_msg_id
        return Outcome(
            outgoing.delivery_id, "failed", error=f"unreachable: {error}"[:500], retry=True
        )
    reason = REASONS.get(int(code)) or ("rate_limited" if code == RATE_LIMITED else "refused")
    detail = f"{reason}: WeChat {code}: {error.errmsg}"[:500]
    return Outcome(outgoing.delivery_id, "failed", error=detail, retry=code in RETRYABLE)


# -- followers who leave and come back (an outbox subscriber, wired in siyu.subscribers) ----------

UNFOLLOWED, FOLLOWED = "Official Account Unfollowed", "Official Account Followed"


def follow_changes(session: Session, rows: list[dict[str, Any]]) -> None:
    """An unfollow puts the openid on the suppression list (reason unfollowed), which cancels the
    messages planned to it; following again takes it off."""
    for row in rows:
        if row.get("event") not in (UNFOLLOWED, FOLLOWED):
            continue
        openid = _openid(row)
        if not openid:
            continue
        if row["event"] == UNFOLLOWED:
            suppress(
                session,
                "official_account",
                openid,
                "unfollowed",
                source="official account: unfollowed",
                customer_id=row.get("customer_id"),
            )
        else:
            session.execute(
                delete(Suppression).where(
                    Suppression.channel == "official_account",
                    Suppression.address == openid,
                    Suppression.reason == "unfollowed",
                )
            )


def _openid(row: dict[str, Any]) -> str | None:
    traits = row.get("traits") or {}
    if isinstance(traits, str):
        traits = json.loads(traits or "{}")
    anonymous = str(row.get("anonymous_id") or "")
    return traits.get("wechat_openid") or anonymous.removeprefix("wechat:") or None
