"""WeCom use cases, one per callback kind: from a stored callback to customers, owners, tags,
welcome messages, loss alerts, group membership and transfer results."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import WeChatClientException

from siyu.codes.models import ChannelCode
from siyu.codes.service import find_code, touchpoint_code
from siyu.core.db import utcnow
from siyu.customers.models import Customer
from siyu.customers.service import customer_of, recorded_customer
from siyu.events.service import record_told, told_at, told_message_id
from siyu.staff.handover import record_transfer_result
from siyu.staff.models import Staff
from siyu.staff.routing import record_add
from siyu.staff.service import assign_owner, ensure_staff
from siyu.tags.models import Tag
from siyu.tags.service import ensure_tag, tag_customer
from siyu.wecom.client import WecomClient, get_client
from siyu.wecom.models import GroupMember, LossAlert, TagLink, WecomCallback

log = logging.getLogger("siyu.wecom")
SOURCE = "wecom"
EXTERNAL = "wecom_external_userid"
Flow = Callable[[Session, dict, WecomClient | None], str]


def process(session: Session, callback_id: int, client: WecomClient | None = None) -> str:
    """Apply one stored callback; its row says what was done. Raises to have the job retried."""
    callback = session.get(WecomCallback, callback_id)
    if callback is None or callback.status == "done":
        return "nothing to do"
    flow = FLOWS.get((callback.event, callback.change_type or ""))
    result = flow(session, dict(callback.fields), client) if flow else "not handled"
    callback.status, callback.result, callback.processed_at = "done", result, utcnow()
    session.flush()
    return result


def _client(client: WecomClient | None) -> WecomClient | None:
    if client is not None:
        return client
    try:
        return get_client()
    except Exception:  # not configured: the callback is still recorded, without outbound calls
        return None


# -- contacts ---------------------------------------------------------------------------------


def contact_added(session: Session, fields: dict, client: WecomClient | None) -> str:
    """A customer added a guide: attribute to the code (State), own, welcome, tag, record."""
    client = _client(client)
    userid, external = str(fields["UserID"]), str(fields["ExternalUserID"])
    at = told_at(fields.get("CreateTime"))
    code = find_code(session, str(fields["State"])) if fields.get("State") else None
    # The WelcomeCode is valid for 20 seconds: the welcome goes out before anything else.
    welcomed = _welcome(client, code, fields.get("WelcomeCode"))
    staff = ensure_staff(session, userid)
    touchpoint = touchpoint_code(session, code)
    traits = _profile(client, external)
    properties = {"guide": userid, "welcome_sent": welcomed}
    if touchpoint and code:
        properties |= {"touchpoint": touchpoint, "code": code.code}
    key = (fields.get("WelcomeCode") or fields.get("CreateTime"), userid)
    record_told(
        session,
        SOURCE,
        f"wecom:{external}",
        {EXTERNAL: external, **traits},
        [
            {
                "type": "identify",
                "messageId": told_message_id("wecom-id", external, *key),
                "traits": {EXTERNAL: external, **traits},
            },
            {
                "type": "track",
                "event": "Contact Added",
                "properties": properties,
                "messageId": told_message_id("wecom-add", external, *key),
            },
        ],
        at,
    )
    customer = recorded_customer(session, EXTERNAL, external)
    assign_owner(session, customer.id, staff.id)
    record_add(session, staff.id, at)
    tagged = _apply_code_tags(session, customer, code)
    return f"customer {customer.id} owned by {userid}; welcome {welcomed}; tags {tagged}"


def _welcome(client: WecomClient | None, code: ChannelCode | None, welcome_code) -> bool:
    if client is None or code is None or not code.welcome_message or not welcome_code:
        return False
    body = {"welcome_code": str(welcome_code), "text": {"content": code.welcome_message}}
    try:
        client.external_contact.send_welcome_msg(body)
    except WeChatClientException as error:  # expired or used code: the add still counts
        log.warning("welcome message not sent: %s", error)
        return False
    return True


def _profile(client: WecomClient | None, external: str) -> dict:
    """Name and unionid from externalcontact/get (the unionid links the official account)."""
    if client is None:
        return {}
    try:
        contact = client.external_contact.get(external).get("external_contact", {})
    except WeChatClientException as error:
        log.warning("external contact %s not read: %s", external, error)
        return {}
    traits = {"name": contact.get("name")}
    if contact.get("unionid"):
        traits["wechat_unionid"] = contact["unionid"]
    return {k: v for k, v in traits.items() if v}


def _apply_code_tags(session: Session, customer: Customer, code: ChannelCode | None) -> list[str]:
    """The code's tags, as enterprise tags; the tag push (tag_push.py) marks them in WeCom,
    creating there the ones WeCom does not have yet."""
    names = list(code.tag_names or []) if code is not None else []
    for name in names:
        tag_customer(session, customer.id, ensure_tag(session, name, "enterprise").id, "rule")
    return names


def contact_edited(session: Session, fields: dict, client: WecomClient | None) -> str:
    """A guide edited the contact (remark, tags): refresh the name, unionid and corp tags."""
    client = _client(client)
    external, userid = str(fields["ExternalUserID"]), str(fields["UserID"])
    if client is None:
        return "no client to read the contact"
    try:
        contact = client.external_contact.get(external)
    except WeChatClientException as error:
        return f"contact not read: {error}"
    traits = _profile_of(contact.get("external_contact", {}))
    created = fields.get("CreateTime")
    record_told(
        session,
        SOURCE,
        f"wecom:{external}",
        {EXTERNAL: external, **traits},
        [
            {
                "type": "identify",
                "traits": {EXTERNAL: external, **traits},
                "messageId": told_message_id("wecom-edit", external, userid, created),
            }
        ],
        told_at(created),
    )
    customer = recorded_customer(session, EXTERNAL, external)
    names: list[str] = []
    for follow in contact.get("follow_user", []):
        if follow.get("userid") == userid:
            names = apply_follow_tags(session, customer, follow)
    return f"customer {customer.id} refreshed; tags {names}"


def _profile_of(contact: dict) -> dict:
    traits = {"name": contact.get("name"), "wechat_unionid": contact.get("unionid")}
    return {k: v for k, v in traits.items() if v}


def apply_follow_tags(session: Session, customer: Customer, follow: dict) -> list[str]:
    """Put a guide's WeCom tags for a customer (follow_info / follow_user tags) on them."""
    names = []
    for tag in follow.get("tags", []) or []:
        name = tag.get("tag_name")
        if not name:
            continue
        group = "enterprise" if int(tag.get("type", 1)) == 1 else "work"
        local = ensure_tag(session, name[:64], group)
        if tag.get("tag_id"):
            link_tag(session, str(tag["tag_id"]), name, local)
        # source "wecom": the tag push does not send WeCom's own tags back to it
        tag_customer(session, customer.id, local.id, SOURCE)
        names.append(name)
    return names


def contact_lost(by: str) -> Flow:
    """A loss (流失): the customer deleted the guide, or the guide deleted the customer."""

    def lost(session: Session, fields: dict, client: WecomClient | None) -> str:
        userid, external = str(fields["UserID"]), str(fields["ExternalUserID"])
        at = told_at(fields.get("CreateTime"))
        staff = ensure_staff(session, userid)
        record_told(
            session,
            SOURCE,
            f"wecom:{external}",
            {EXTERNAL: external},
            [
                {
                    "type": "track",
                    "event": "Contact Deleted",
                    "properties": {"guide": userid, "by": by},
                    "messageId": told_message_id(
                        "wecom-del", external, userid, by, fields.get("CreateTime")
                    ),
                }
            ],
            at,
        )
        customer = customer_of(session, EXTERNAL, external)
        alert = LossAlert(
            kind="del_follow_user" if by == "customer" else "del_external_contact",
            external_userid=external,
            customer_id=customer.id if customer else None,
            staff_id=staff.id,
            manager_id=staff.manager_id,
            occurred_at=at,
        )
        session.add(alert)
        session.flush()
        return f"loss alert {alert.id} to staff {staff.id} and manager {staff.manager_id}"

    return lost


def transfer_failed(session: Session, fields: dict, client: WecomClient | None) -> str:
    """WeCom could not hand a customer over: the move goes back to the pool to be retried."""
    status = "refused" if fields.get("FailReason") == "customer_refused" else "failed"
    move = record_transfer_result(
        session, str(fields["ExternalUserID"]), str(fields["UserID"]), status
    )
    return f"move {move.id} {status}" if move else "no pending move"


# -- groups -----------------------------------------------------------------------------------


def chat_changed(session: Session, fields: dict, client: WecomClient | None) -> str:
    """A customer group (客户群) changed: read its members and record who joined and who left."""
    chat_id, change = str(fields["ChatId"]), str(fields.get("ChangeType"))
    version = fields.get("CurMemVer") or fields.get("CreateTime")
    at = told_at(fields.get("CreateTime"))
    if change == "dismiss":
        members, name = {}, None
    else:
        client = _client(client)
        if client is None:
            return "no client to read the group"
        chat = client.external_contact_group_chat.get(chat_id).get("group_chat", {})
        name = chat.get("name")
        members = {
            str(m["userid"]): m for m in chat.get("member_list", []) if int(m.get("type", 1)) == 2
        }
    stored = {
        row.member_id: row
        for row in session.scalars(select(GroupMember).where(GroupMember.chat_id == chat_id))
    }
    joined, left = sorted(members.keys() - stored.keys()), sorted(stored.keys() - members.keys())
    for external in joined:
        session.add(GroupMember(chat_id=chat_id, member_id=external, joined_at=at))
        _group_event(session, "Group Joined", chat_id, name, external, version, at)
    for external in left:
        session.delete(stored[external])
        _group_event(session, "Group Left", chat_id, name, external, version, at)
    session.flush()
    return f"{len(joined)} joined, {len(left)} left"


def _group_event(session, event, chat_id, name, external, version, at: datetime) -> None:
    properties = {"group_id": chat_id, "group_name": name}
    record_told(
        session,
        SOURCE,
        f"wecom:{external}",
        {EXTERNAL: external},
        [
            {
                "type": "track",
                "event": event,
                "properties": properties,
                "messageId": told_message_id("wecom-group", chat_id, external, event, version),
            }
        ],
        at,
    )


# -- tags -------------------------------------------------------------------------------------


def link_tag(session: Session, wecom_tag_id: str, name: str, tag: Tag | None = None) -> Tag:
    """The Siyu tag for a WeCom corp tag, created and linked on first sight."""
    link = session.scalar(select(TagLink).where(TagLink.wecom_tag_id == wecom_tag_id))
    if link is not None:
        return session.get_one(Tag, link.tag_id)
    tag = tag or ensure_tag(session, name[:64], "enterprise")
    session.add(TagLink(wecom_tag_id=wecom_tag_id, tag_id=tag.id))
    session.flush()
    return tag


def tag_changed(session: Session, fields: dict, client: WecomClient | None) -> str:
    """A corp tag was created, renamed or deleted in WeCom; its Siyu tag follows."""
    tag_id, change = str(fields["Id"]), str(fields.get("ChangeType"))
    if fields.get("TagType") != "tag":
        return f"tag group {change}: nothing to change"
    link = session.scalar(select(TagLink).where(TagLink.wecom_tag_id == tag_id))
    if change == "delete":
        if link is not None:
            session.delete(link)
        return "tag unlinked (customers keep it)"
    client = _client(client)
    if client is None:
        return "no client to read the tag"
    name = _corp_tag_name(client, tag_id)
    if name is None:
        return "tag not found in WeCom"
    if link is None:
        return f"tag {link_tag(session, tag_id, name).id} linked"
    tag = session.get_one(Tag, link.tag_id)
    clash = session.scalar(select(Tag.id).where(Tag.name == name[:64], Tag.id != tag.id))
    if clash is None:
        tag.name = name[:64]
    session.flush()
    return f"tag {tag.id} is {tag.name}"


def _corp_tag_name(client: WecomClient, tag_id: str) -> str | None:
    groups = client.external_contact.get_corp_tag_list([tag_id]).get("tag_group", [])
    for group in groups:
        for tag in group.get("tag", []):
            if str(tag.get("id")) == tag_id:
                return tag.get("name")
    return None


FLOWS: dict[tuple[str, str], Flow] = {
    ("change_external_contact", "add_external_contact"): contact_added,
    ("change_external_contact", "add_half_external_contact"): contact_added,
    ("change_external_contact", "edit_external_contact"): contact_edited,
    ("change_external_contact", "del_external_contact"): contact_lost("guide"),
    ("change_external_contact", "del_follow_user"): contact_lost("customer"),
    ("change_external_contact", "transfer_fail"): transfer_failed,
    ("change_external_chat", "create"): chat_changed,
    ("change_external_chat", "update"): chat_changed,
    ("change_external_chat", "dismiss"): chat_changed,
    ("change_external_tag", "create"): tag_changed,
    ("change_external_tag", "update"): tag_changed,
    ("change_external_tag", "delete"): tag_changed,
}


def staff_names(session: Session, ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {
        row.id: row.name
        for row in session.execute(select(Staff.id, Staff.name).where(Staff.id.in_(ids)))
    }
