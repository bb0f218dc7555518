"""A full re-sync of every guide's customers from WeCom: resumable and within rate limits.

The run keeps its place (which guide, and WeCom's `next_cursor` for that guide) in a
`wecom_sync_runs` row committed after every page, so a stopped or failed run resumes at the
page it was on. Calls are paced below WeCom's frequency limit; an `errcode 45009` (too many
calls) waits and asks for the same page again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session
from wechatpy.exceptions import APILimitedException

from siyu.core.db import commit_progress, utcnow
from siyu.customers.service import recorded_customer
from siyu.events.service import ingest, told_at
from siyu.events.sources import internal_source
from siyu.staff.service import assign_owners, ensure_staff
from siyu.tags.service import tag_customer
from siyu.wecom.client import WecomClient
from siyu.wecom.flows import EXTERNAL, SOURCE, link_tag
from siyu.wecom.models import SyncRun

PAGE_SIZE = 100  # batch/get_by_user's largest page
RATE_LIMIT_WAIT = 60.0  # seconds: WeCom's frequency limits are counted per minute
MAX_RATE_LIMIT_WAITS = 5


@dataclass
class Pacer:
    """At most `per_minute` calls a minute (WeCom counts calls per API per minute)."""

    per_minute: int = 600
    sleep: Callable[[float], None] = time.sleep
    last: float = field(default=0.0)

    def wait(self) -> None:
        gap = 60.0 / self.per_minute - (time.monotonic() - self.last)
        if gap > 0:
            self.sleep(gap)
        self.last = time.monotonic()


def current_run(session: Session) -> SyncRun:
    """The run to continue (the latest not finished), or a new one."""
    run = session.scalar(
        select(SyncRun).where(SyncRun.status != "done").order_by(SyncRun.id.desc()).limit(1)
    )
    if run is None:
        run = SyncRun(status="running")
        session.add(run)
        session.flush()
    return run


def sync_customers(
    session: Session,
    client: WecomClient,
    pacer: Pacer | None = None,
    on_page: Callable[[SyncRun], None] | None = None,
) -> SyncRun:
    """Sync (or resume syncing) every guide's customers; commits progress after every page, and
    the caller commits the end (the job's worker, the command's unit of work)."""
    pacer = pacer or Pacer()
    run = current_run(session)
    run.status, run.error = "running", None
    if not run.userids:
        pacer.wait()
        run.userids = list(client.external_contact.get_follow_user_list().get("follow_user", []))
        run.calls += 1
    commit_progress(session, "the sync's guides")
    corp_tags = _corp_tags(client, pacer, run)
    try:
        while run.user_index < len(run.userids):
            _sync_page(session, client, pacer, run, corp_tags)
            commit_progress(session, "a page of a guide's customers")
            if on_page:
                on_page(run)
    except Exception as error:
        session.rollback()
        run.status, run.error = "failed", str(error)[:2000]
        commit_progress(session, "the sync failed")  # kept through the caller's rollback
        raise
    run.status, run.finished_at = "done", utcnow()
    session.flush()
    return run


def _corp_tags(client: WecomClient, pacer: Pacer, run: SyncRun) -> dict[str, str]:
    pacer.wait()
    run.calls += 1
    groups = client.external_contact.get_corp_tag_list().get("tag_group", [])
    return {str(t["id"]): t["name"] for g in groups for t in g.get("tag", [])}


def _sync_page(session, client, pacer: Pacer, run: SyncRun, corp_tags: dict[str, str]) -> None:
    userid = run.userids[run.user_index]
    answer = _page(client, pacer, run, userid)
    contacts = answer.get("external_contact_list", [])
    _apply(session, userid, contacts, corp_tags)
    run.customers += len(contacts)
    run.cursor = answer.get("next_cursor") or ""
    if not run.cursor:
        run.user_index += 1
    run.updated_at = utcnow()


def _page(client: WecomClient, pacer: Pacer, run: SyncRun, userid: str) -> dict:
    for _ in range(MAX_RATE_LIMIT_WAITS):
        pacer.wait()
        run.calls += 1
        try:
            return client.extras.batch_get_by_user([userid], run.cursor, PAGE_SIZE)
        except APILimitedException:
            pacer.sleep(RATE_LIMIT_WAIT)
    raise RuntimeError(f"WeCom kept refusing calls for {userid} (errcode 45009)")


def _apply(session: Session, userid: str, contacts: list[dict], corp_tags: dict) -> None:
    """One page: identities and names through ingest, then owners and tags in a few queries."""
    if not contacts:
        return
    staff = ensure_staff(session, userid)
    messages = [_identify(item) for item in contacts]
    ingest(session, internal_source(session, SOURCE), messages, utcnow())
    owners = {
        (EXTERNAL, item["external_contact"]["external_userid"]): staff.id for item in contacts
    }
    assign_owners(session, owners)
    for item in contacts:
        tag_ids = item.get("follow_info", {}).get("tag_id") or []
        if tag_ids:
            external = item["external_contact"]["external_userid"]
            customer = recorded_customer(session, EXTERNAL, external)
            for tag_id in tag_ids:
                if str(tag_id) in corp_tags:
                    tag = link_tag(session, str(tag_id), corp_tags[str(tag_id)])
                    tag_customer(session, customer.id, tag.id, SOURCE)


def _identify(item: dict) -> dict:
    contact, follow = item["external_contact"], item.get("follow_info", {})
    external = contact["external_userid"]
    traits = {EXTERNAL: external, "name": contact.get("name")}
    if contact.get("unionid"):
        traits["wechat_unionid"] = contact["unionid"]
    traits = {k: v for k, v in traits.items() if v}
    # No messageId: one is made from the content, so an unchanged contact synced again is a
    # duplicate and stores nothing.
    return {
        "type": "identify",
        "anonymousId": f"wecom:{external}",
        "timestamp": told_at(follow.get("createtime")).isoformat(),
        "traits": traits,
        "context": {"traits": traits},
    }
