"""Enterprise tags out to WeCom: tag changes made here are marked on the WeCom contact.

A change to an enterprise tag (by hand, a rule, bulk tagging or an import; never one the sync or
a callback brought in, which carry source "wecom") is pushed with `externalcontact/mark_tag` for
the customer's owning guide; a tag WeCom does not have yet is created there first with
`add_corp_tag` and linked like the tags the sync links. What is sent is the customer's tag *as it
is now*, not the change, so a batch sent twice changes nothing in WeCom.

The position (the last tag change pushed) is saved in the `meta` row `wecom.tag_push` after each
batch: a crash before that re-sends the batch, which WeCom takes as no change; nothing is lost. No
transaction stays open during a call to WeCom (SQLite would keep callbacks waiting).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import APILimitedException, WeChatClientException

from siyu.core import meta
from siyu.core.db import commit_progress, utcnow
from siyu.core.errors import InvalidInput
from siyu.customers.models import Customer, Identity
from siyu.staff.models import Staff
from siyu.tags.enterprise import enterprise_changes
from siyu.tags.models import CustomerTag, Tag
from siyu.wecom.client import WecomClient
from siyu.wecom.flows import EXTERNAL, link_tag
from siyu.wecom.models import TagLink
from siyu.wecom.sync import MAX_RATE_LIMIT_WAITS, RATE_LIMIT_WAIT, Pacer

log = logging.getLogger("siyu.wecom")
STATE_KEY = "wecom.tag_push"
BATCH = 500
DEFAULT_GROUP = "Siyu"
MAX_NAME = 30  # WeCom's longest corp tag (and tag group) name
KEPT_FAILURES = 100
# Answers that will not change on a retry, for this contact: no such relation between the guide
# and the contact (84061), the contact or guide id is not valid (40096, 40003, 60111), the guide
# is not verified (40098), a tag id WeCom no longer has (40068).
PERMANENT = {84061, 40096, 40003, 60111, 40098, 40068}
NAME_EXISTS = 40071


@dataclass
class PushState:
    """What the `meta` row keeps between runs."""

    position: int = 0  # the last tag change pushed (or settled)
    group: str = DEFAULT_GROUP  # the WeCom tag group new tags are created in
    pushed: int = 0  # changes pushed, all runs
    failed: int = 0  # changes given up on, all runs
    failures: list[dict] = field(default_factory=list)  # the latest, newest last


@dataclass
class Pushed:
    """One run: changes pushed, contacts marked, corp tags created, changes of customers who are
    not WeCom contacts, and the contacts (or tags) WeCom refused for good."""

    position: int = 0
    changes: int = 0
    contacts: int = 0
    created: int = 0
    not_contacts: int = 0
    failures: list[dict] = field(default_factory=list)
    has_more: bool = False


@dataclass
class Contact:
    """One customer's enterprise tags to set on one WeCom relation (guide + external contact)."""

    customer_id: int
    userid: str
    external_userid: str
    add: list[int]
    remove: list[int]
    changes: int


def read_state(session: Session) -> PushState:
    stored = meta.read(session, STATE_KEY) or {}
    known = PushState.__dataclass_fields__
    return PushState(**{k: v for k, v in stored.items() if k in known})


def save_state(session: Session, state: PushState) -> None:
    state.failures = state.failures[-KEPT_FAILURES:]
    meta.write(session, STATE_KEY, asdict(state))


def set_group(session: Session, name: str) -> None:
    """The WeCom tag group Siyu creates its enterprise tags in (kept for later runs)."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise InvalidInput(f"a WeCom tag group name is 1 to {MAX_NAME} characters", field="group")
    state = read_state(session)
    state.group = name
    save_state(session, state)


def push_tags(
    session: Session,
    client: WecomClient,
    *,
    pacer: Pacer | None = None,
    budget: float | None = None,
    batch: int = BATCH,
) -> Pushed:
    """Push every enterprise tag change since the saved position (for `budget` seconds at most;
    `has_more` then says there is more); commits progress after each batch, and the caller
    commits the end."""
    run = _Run(session, client, pacer or Pacer(), read_state(session))
    started = time.monotonic()
    while budget is None or time.monotonic() - started < budget:
        changes = enterprise_changes(session, run.state.position, batch)
        if not changes:
            break
        contacts = _plan(session, changes)
        commit_progress(session, "the batch read: no transaction waits on WeCom")
        run.send(contacts, changes)
        run.state.position = changes[-1]["id"]
        save_state(session, run.state)
        commit_progress(session, "the push's position")
    run.pushed.position = run.state.position
    run.pushed.has_more = bool(enterprise_changes(session, run.state.position, 1))
    return run.pushed


def _plan(session: Session, changes: list[dict]) -> list[Contact]:
    """Each changed customer's relations and the tags to add and remove there, as held now."""
    customer_ids = sorted({c["customer_id"] for c in changes})
    tags_of: dict[int, set[int]] = {}
    counts: dict[int, int] = {}
    for change in changes:
        tags_of.setdefault(change["customer_id"], set()).add(change["tag_id"])
        counts[change["customer_id"]] = counts.get(change["customer_id"], 0) + 1
    tag_ids = sorted({c["tag_id"] for c in changes})
    held = set(
        session.execute(
            select(CustomerTag.customer_id, CustomerTag.tag_id).where(
                CustomerTag.customer_id.in_(customer_ids), CustomerTag.tag_id.in_(tag_ids)
            )
        )
    )
    relations = session.execute(
        select(Identity.customer_id, Staff.wecom_userid, Identity.value)
        .join(Customer, Customer.id == Identity.customer_id)
        .join(Staff, Staff.id == Customer.owner_id)
        .where(
            Identity.type == EXTERNAL,
            Identity.customer_id.in_(customer_ids),
            Staff.wecom_userid.is_not(None),
        )
        .order_by(Identity.customer_id, Identity.id)
    )
    contacts = []
    for customer_id, userid, external in relations:
        if userid is None:  # the query keeps owners with a WeCom UserID only
            continue
        tags = sorted(tags_of[customer_id])
        add = [t for t in tags if (customer_id, t) in held]
        remove = [t for t in tags if (customer_id, t) not in held]
        contacts.append(Contact(customer_id, userid, external, add, remove, counts[customer_id]))
    return contacts


class _Run:
    """One push: the WeCom ids of Siyu's tags (created in WeCom when missing) and the calls."""

    def __init__(self, session: Session, client: WecomClient, pacer: Pacer, state: PushState):
        self.session, self.client, self.pacer, self.state = session, client, pacer, state
        self.pushed = Pushed(position=state.position)
        self.corp_tags: dict[str, str] | None = None  # WeCom's tags by name, read once a run
        self.refused_tags: set[int] = set()

    def send(self, contacts: list[Contact], changes: list[dict]) -> None:
        ids = self._wecom_ids(contacts, changes)
        relations: dict[int, list[Contact]] = {}
        for contact in contacts:
            relations.setdefault(contact.customer_id, []).append(contact)
        for found in relations.values():
            sent = refused = 0
            for contact in found:
                add = [ids[t] for t in contact.add if t in ids]
                remove = [ids[t] for t in contact.remove if t in ids]
                if add or remove:
                    sent += 1
                    refused += not self._mark(contact, add, remove)
            if sent and refused == sent:  # every relation refused for good
                self.state.failed += found[0].changes
            else:
                self.pushed.changes += found[0].changes
                self.state.pushed += found[0].changes
        self.pushed.not_contacts += sum(1 for c in changes if c["customer_id"] not in relations)

    def _wecom_ids(self, contacts: list[Contact], changes: list[dict]) -> dict[int, str]:
        """Siyu tag id → WeCom tag id; a tag to add that WeCom lacks is created (a removal of
        a tag WeCom never had needs nothing)."""
        ids = {c["tag_id"]: c["external_id"] for c in changes if c["external_id"]}
        links = self.session.execute(
            select(TagLink.tag_id, TagLink.wecom_tag_id)
            .where(TagLink.tag_id.in_(sorted({c["tag_id"] for c in changes})))
            .order_by(TagLink.id.desc())  # a tag linked twice uses its first link
        )
        ids.update(dict(links.all()))
        missing = {t for c in contacts for t in c.add} - ids.keys() - self.refused_tags
        for tag in list(self.session.scalars(select(Tag).where(Tag.id.in_(sorted(missing))))):
            wecom_id = self._create(tag)
            # Linked at once: a crash later does not create it again.
            commit_progress(self.session, "a tag created in WeCom")
            if wecom_id:
                ids[tag.id] = wecom_id
        commit_progress(self.session, "the tags read: no transaction waits on WeCom")
        return ids

    def _create(self, tag: Tag) -> str | None:
        """WeCom's id for this tag: one of that name already there, or a new one in the group."""
        if len(tag.name) > MAX_NAME:
            self.refused_tags.add(tag.id)
            reason = f"the name is longer than WeCom's {MAX_NAME} characters"
            self._record({"tag_id": tag.id, "tag": tag.name, "errcode": None, "errmsg": reason})
            return None
        wecom_id = self._corp_tags().get(tag.name)
        if wecom_id is None:
            try:
                answer = self._call(
                    self.client.external_contact.add_corp_tag,
                    group_id=None,
                    group_name=self.state.group,
                    order=None,
                    tags=[{"name": tag.name}],
                )
            except WeChatClientException as error:
                if error.errcode != NAME_EXISTS:
                    raise
                self.corp_tags = None  # made by someone else since it was read
                wecom_id = self._corp_tags().get(tag.name)
            else:
                made = answer.get("tag_group", {}).get("tag", [])
                wecom_id = next((str(t["id"]) for t in made if t.get("name") == tag.name), None)
                self.pushed.created += wecom_id is not None
            if wecom_id is None:
                raise RuntimeError(f"WeCom did not say the id of the new tag {tag.name!r}")
        link_tag(self.session, wecom_id, tag.name, tag)
        return wecom_id

    def _corp_tags(self) -> dict[str, str]:
        """WeCom's tags by name, those of Siyu's own group first."""
        if self.corp_tags is None:
            answer = self._call(self.client.external_contact.get_corp_tag_list)
            groups = answer.get("tag_group", [])
            ours = [g for g in groups if g.get("group_name") == self.state.group]
            self.corp_tags = {}
            for group in [*ours, *(g for g in groups if g not in ours)]:
                for tag in group.get("tag", []):
                    if not tag.get("deleted"):
                        self.corp_tags.setdefault(tag["name"], str(tag["id"]))
        return self.corp_tags

    def _mark(self, contact: Contact, add: list[str], remove: list[str]) -> bool:
        """Set the tags on one relation; False when WeCom refused it for good (recorded)."""
        try:
            self._call(
                self.client.external_contact.mark_tag,
                contact.userid,
                contact.external_userid,
                add_tag=add,
                remove_tag=remove,
            )
        except WeChatClientException as error:
            if error.errcode not in PERMANENT:
                raise  # the job retries the batch; what was marked is marked again, unchanged
            self._record(
                {
                    "customer_id": contact.customer_id,
                    "userid": contact.userid,
                    "external_userid": contact.external_userid,
                    "errcode": error.errcode,
                    "errmsg": str(error.errmsg),
                    "changes": contact.changes,
                }
            )
            return False
        self.pushed.contacts += 1
        return True

    def _record(self, failure: dict) -> None:
        failure = {"at": utcnow().isoformat(timespec="seconds"), **failure}
        log.warning("tag push refused by WeCom: %s", failure)
        self.pushed.failures.append(failure)
        self.state.failures.append(failure)

    def _call(self, call, *args, **kwargs) -> dict:
        for _ in range(MAX_RATE_LIMIT_WAITS):
            self.pacer.wait()
            try:
                return call(*args, **kwargs)
            except APILimitedException:
                self.pacer.sleep(RATE_LIMIT_WAIT)
        raise RuntimeError("WeCom kept refusing calls (errcode 45009)")
