"""The jobs WeCom work runs as: each stored callback, the full re-sync, handovers sent to WeCom
with their results asked for, and enterprise tags pushed. The recurring ones (tag push each
minute, transfer results every 30 minutes, the nightly re-sync) are schedules in siyu.work; a
person or a callback may also ask for one now."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.jobs import enqueue
from siyu.wecom import flows, service, tag_push
from siyu.wecom.client import get_client
from siyu.wecom.inbox import JOB_KIND
from siyu.wecom.sync import sync_customers

SYNC_KIND = "wecom.sync"
TRANSFERS_KIND = "wecom.transfers"
TAGS_KIND = "wecom.tags"
CALLBACK_KIND = JOB_KIND
# A run stops after TAGS_BUDGET seconds and hands the rest to a new run, well inside the job
# lease (5 minutes).
TAGS_BUDGET = 120.0


def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))
    request_tag_push(session)  # e.g. a channel code's tags on a new contact


def run_sync(session: Session, payload: dict) -> None:
    if not service.configuration().has_api:
        return  # the nightly schedule runs whether or not WeCom is set up
    sync_customers(session, get_client())
    request_tag_push(session)


def request_sync(session: Session) -> None:
    """Queue a full re-sync (one per minute at most: a double click is one run)."""
    minute = utcnow().strftime("%Y%m%d%H%M")
    enqueue(session, SYNC_KIND, f"{SYNC_KIND}:{minute}")


def run_transfers(session: Session, payload: dict) -> None:
    """Send pending handovers and ask for their results. A customer has 24 hours to refuse a
    transfer: the schedule asks again every 30 minutes while a move waits."""
    if not service.configuration().has_api or not service.transfers_waiting(session):
        return
    client = get_client()
    service.push_transfers(session, client)
    service.poll_transfers(session, client)


def request_transfers(session: Session, at=None) -> None:
    """Queue sending pending handovers to WeCom and asking for their results."""
    at = at or utcnow()
    enqueue(session, TRANSFERS_KIND, f"{TRANSFERS_KIND}:{at.strftime('%Y%m%d%H%M')}", run_at=at)


def run_tag_push(session: Session, payload: dict) -> None:
    """Push enterprise tag changes to WeCom (the schedule comes back every minute)."""
    if not service.configuration().has_api:
        return
    pushed = tag_push.push_tags(session, get_client(), budget=TAGS_BUDGET)
    if pushed.has_more:
        enqueue(session, TAGS_KIND, f"{TAGS_KIND}:from:{pushed.position}")


def request_tag_push(session: Session, at=None) -> None:
    """Queue a tag push now (one a minute at most) when WeCom's API is configured."""
    if not service.configuration().has_api:
        return
    at = at or utcnow()
    enqueue(session, TAGS_KIND, f"{TAGS_KIND}:{at.strftime('%Y%m%d%H%M')}", run_at=at)
