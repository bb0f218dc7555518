"""WeCom 群发 through guides: one add_msg_template per guide and message, which the guide
confirms in WeCom before it reaches anyone.

A delivery's content (text, and one of image, link, miniprogram) goes to its guide's customers
(chat_type single, the address an external_userid) or the guide's customer groups (chat_type
group, the address a chat_id); a guide task's one-to-one message is a template of one. The
answer is `pending` with the template's msgid: messaging.group_sends learns later, per guide and
per customer, whether it went. WeCom takes no idempotency key, so a template whose answer was
lost (a crash, a broken connection) is found again by its text, guide and recipients in the
company's group sends (`reconcile`), and never made twice.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from wechatpy.exceptions import WeChatClientException

from siyu.core.settings import Settings
from siyu.messaging.models import Channel
from siyu.messaging.sending import Outcome, Outgoing
from siyu.wecom.client import RATE_LIMITED, WecomClient, get_client

MAX_TARGETS = 10_000  # WeCom: external_userid (or chat ids) per add_msg_template
MEDIA_SECONDS = 2 * 86400  # a temporary media lives 3 days at WeCom: upload again after 2
# (corp, API, image source, the file's size and mtime) → (media_id, uploaded at)
_media_ids: dict[tuple[str, str, str, str], tuple[str, float]] = {}


def _version(source: str) -> str:
    """A local file's size and modification time (a changed file is uploaded again); "" for a
    URL, whose image is taken as it was for MEDIA_SECONDS."""
    if source.startswith(("http://", "https://")):
        return ""
    try:
        found = Path(source).stat()
    except OSError:
        return ""  # _read_image says why
    return f"{found.st_size}:{found.st_mtime_ns}"


RECONCILE_SECONDS = 86400  # how far back a lost template is looked for
RETRYABLE = (-1, RATE_LIMITED)  # busy, call limit: worth trying again later


@dataclass(frozen=True)
class Template:
    """Deliveries that become one add_msg_template: one guide, one chat type, one content."""

    sender: str
    chat_type: str  # single | group
    content: dict[str, Any]
    batch: tuple[Outgoing, ...]

    @property
    def targets(self) -> list[str]:
        return [o.address for o in self.batch]


class WecomSender:
    """The `wecom` channel's Sender (messaging.sending)."""

    channel = "wecom"

    def __init__(
        self,
        settings: Settings | None = None,
        row: Channel | None = None,
        *,
        client: WecomClient | None = None,
    ):
        # Built by the dispatcher from the settings (raises NotConfigured when WeCom is not set).
        self.client = client or get_client(settings)

    def send(self, batch: Sequence[Outgoing]) -> list[Outcome]:
        outcomes = [_failed(o, "no_guide") for o in batch if not o.guide_userid]
        for template in templates(batch):
            outcomes += self._create(template)
        return outcomes

    def reconcile(self, batch: Sequence[Outgoing]) -> list[Outcome | None]:
        """What became of deliveries a crash left in `sending`: `pending` with the msgid of the
        template found for them, or a retryable failure (`not_created`) when WeCom has none,
        so sending them again cannot make a second one."""
        outcomes: list[Outcome | None] = [
            _failed(o, "no_guide") for o in batch if not o.guide_userid
        ]
        for template in templates(batch):
            msgid, found = self.find(template)
            if msgid is None:
                outcomes += [_failed(o, "not_created", retry=True) for o in template.batch]
            else:
                outcomes += _answered(
                    template, msgid, [t for t in template.targets if t not in found]
                )
        return outcomes

    # -- creating a template ------------------------------------------------------------------

    def _create(self, template: Template) -> list[Outcome]:
        try:
            body = self.message(template.content)
        except (OSError, httpx.HTTPError, WeChatClientException) as error:
            return [_failed(o, "media", str(error)[:500], retry=True) for o in template.batch]
        key = "chat_id_list" if template.chat_type == "group" else "external_userid"
        body |= {"chat_type": template.chat_type, "sender": template.sender, key: template.targets}
        try:
            answer = self.client.external_contact.add_msg_template(body)
        except WeChatClientException as error:
            if error.errcode is None:  # no answer: the template may exist all the same
                return self._after_lost_answer(template, str(error))
            retry = error.errcode in RETRYABLE
            reason = "rate_limited" if error.errcode == RATE_LIMITED else "refused"
            return [_failed(o, reason, _error(error), retry=retry) for o in template.batch]
        return _answered(template, answer["msgid"], answer.get("fail_list") or [])

    def _after_lost_answer(self, template: Template, error: str) -> list[Outcome]:
        try:
            msgid, found = self.find(template)
        except WeChatClientException:
            msgid, found = None, set()
        if msgid is None:
            return [_failed(o, "unreachable", error[:500], retry=True) for o in template.batch]
        return _answered(template, msgid, [t for t in template.targets if t not in found])

    def message(self, content: dict[str, Any]) -> dict[str, Any]:
        """add_msg_template's text and attachments for a delivery's content; images are uploaded
        (media/upload) once and their media_id reused while WeCom keeps it."""
        body: dict[str, Any] = {}
        if content.get("text"):
            body["text"] = {"content": content["text"]}
        attachments = []
        if content.get("image"):
            attachments.append(
                {"msgtype": "image", "image": {"media_id": self.media_id(content["image"])}}
            )
        if content.get("link"):
            link = content["link"]
            fields = {k: link[k] for k in ("title", "url", "desc", "picurl") if link.get(k)}
            attachments.append({"msgtype": "link", "link": fields})
        if content.get("miniprogram"):
            card = dict(content["miniprogram"])
            pic = card.pop("pic", None) or card.pop("pic_media_id", None)
            card["pic_media_id"] = self.media_id(pic) if pic else ""
            attachments.append({"msgtype": "miniprogram", "miniprogram": card})
        if attachments:
            body["attachments"] = attachments
        return body

    def media_id(self, image: Any) -> str:
        """A media_id for an image given as {"media_id"}, {"url"} or {"path"} (or a bare URL or
        path), uploaded once per source (a file: as it is now) while WeCom keeps it, for every
        sender of this process: each dispatch run makes its own sender."""
        if isinstance(image, dict) and image.get("media_id"):
            return str(image["media_id"])
        source = (
            str(image.get("url") or image.get("path")) if isinstance(image, dict) else str(image)
        )
        key = (self.client.corp_id, self.client.API_BASE_URL, source, _version(source))
        cached = _media_ids.get(key)
        if cached and time.time() - cached[1] < MEDIA_SECONDS:
            return cached[0]
        data = _read_image(source)
        answer = self.client.media.upload("image", (Path(source).name or "image.png", data))
        _media_ids[key] = (answer["media_id"], time.time())
        return str(answer["media_id"])

    # -- finding a template again ---------------------------------------------------------------

    def find(self, template: Template, now: float | None = None) -> tuple[str | None, set[str]]:
        """The msgid of a template the company made in the last day with this text, whose task
        is this guide's and whose recipients are these targets (or the part WeCom took), and
        those recipients; (None, ∅) when there is none. An exact match wins over a part."""
        end = int(now or time.time())
        text = str(template.content.get("text") or "")
        targets, best = set(template.targets), (None, set[str]())
        cursor = ""
        while True:
            page = self.client.extras.groupmsg_list(
                template.chat_type, end - RECONCILE_SECONDS, end + 60, cursor
            )
            for msg in page.get("group_msg_list") or []:
                if (msg.get("text") or {}).get("content", "") != text:
                    continue
                found = self.recipients(msg["msgid"], template.sender)
                if found == targets:
                    return msg["msgid"], found
                if found and found <= targets and len(found) > len(best[1]):
                    best = (msg["msgid"], found)
            cursor = page.get("next_cursor") or ""
            if not cursor:
                return best

    def recipients(self, msgid: str, userid: str) -> set[str] | None:
        """The customers (or chats) of one guide in a template; None when it is not theirs."""
        tasks = self.client.extras.groupmsg_task(msgid).get("task_list") or []
        if not any(t.get("userid") == userid for t in tasks):
            return None
        return {row_target(r) for r in send_results(self.client, msgid, userid)}


def templates(batch: Sequence[Outgoing]) -> Iterator[Template]:
    """The batch's deliveries with a guide, one Template per guide, chat type and content (a
    content rendered alike for every customer makes one template per guide), at most
    MAX_TARGETS each."""
    groups: dict[tuple[str, str, str], list[Outgoing]] = {}
    for outgoing in batch:
        if not outgoing.guide_userid:
            continue
        chat_type = "group" if outgoing.content.get("chat_type") == "group" else "single"
        content = {k: v for k, v in outgoing.content.items() if k != "chat_type"}
        key = (outgoing.guide_userid, chat_type, json.dumps(content, sort_keys=True, default=str))
        groups.setdefault(key, []).append(outgoing)
    for (sender, chat_type, said), members in groups.items():
        for start in range(0, len(members), MAX_TARGETS):
            chunk = tuple(members[start : start + MAX_TARGETS])
            yield Template(sender, chat_type, json.loads(said), chunk)


def send_results(client: WecomClient, msgid: str, userid: str) -> Iterator[dict[str, Any]]:
    """Every row of get_groupmsg_send_result for one guide, page by page."""
    cursor = ""
    while True:
        page = client.extras.groupmsg_send_result(msgid, userid, cursor)
        yield from page.get("send_list") or []
        cursor = page.get("next_cursor") or ""
        if not cursor:
            return


def row_target(row: dict[str, Any]) -> str:
    """The customer (external_userid) or group chat (chat_id) a send result is about."""
    return str(row.get("external_userid") or row.get("chat_id") or "")


def _answered(template: Template, msgid: str, refused: Sequence[str]) -> list[Outcome]:
    refused_set = set(refused)
    return [
        _failed(o, "invalid_recipient")
        if o.address in refused_set
        else Outcome(o.delivery_id, "pending", provider_id=msgid)
        for o in template.batch
    ]


def _failed(outgoing: Outgoing, reason: str, detail: str = "", retry: bool = False) -> Outcome:
    error = f"{reason}: {detail}" if detail else reason
    return Outcome(outgoing.delivery_id, "failed", error=error, retry=retry)


def _error(error: WeChatClientException) -> str:
    return f"WeCom {error.errcode}: {error.errmsg}"[:500]


def _read_image(source: str) -> bytes:
    if source.startswith(("http://", "https://")):
        response = httpx.get(source, timeout=10, follow_redirects=True)
        response.raise_for_status()
        return response.content
    return Path(source).read_bytes()
