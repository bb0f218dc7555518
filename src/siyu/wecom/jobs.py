"""The jobs WeCom work runs as: each stored callback, the full re-sync, handovers sent to
WeCom with their results asked for until none waits, and enterprise tags pushed every minute."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.jobs import enqueue, handler
from siyu.wecom import flows, service, tag_push
from siyu.wecom.client import get_client
from siyu.wecom.inbox import JOB_KIND
from siyu.wecom.sync import sync_customers

SYNC_KIND = "wecom.sync"
TRANSFERS_KIND = "wecom.transfers"
TAGS_KIND = "wecom.tags"
# A customer has 24 hours to refuse a transfer: results are asked for every 30 minutes until
# no move waits any more.
TRANSFERS_EVERY = timedelta(minutes=30)
# Tag changes made here reach WeCom within about a minute. A run stops after TAGS_BUDGET seconds
# and hands the rest to a new run, well inside the job lease (5 minutes).
TAGS_EVERY = timedelta(minutes=1)
TAGS_BUDGET = 120.0


@handler(JOB_KIND)
def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))
    request_tag_push(session)  # e.g. a channel code's tags on a new contact


@handler(SYNC_KIND, scheduled=True)
def run_sync(session: Session, payload: dict) -> None:
    sync_customers(session, get_client())
    request_tag_push(session)


def request_sync(session: Session) -> None:
    """Queue a full re-sync (one per minute at most: a double click is one run)."""
    minute = utcnow().strftime("%Y%m%d%H%M")
    enqueue(session, SYNC_KIND, f"{SYNC_KIND}:{minute}")


@handler(TRANSFERS_KIND, scheduled=True)
def run_transfers(session: Session, payload: dict) -> None:
    client = get_client()
    service.push_transfers(session, client)
    service.poll_transfers(session, client)
    if service.transfers_waiting(session):
        request_transfers(session, utcnow() + TRANSFERS_EVERY)


def request_transfers(session: Session, at=None) -> None:
    """Queue sending pending handovers to WeCom and asking for their results."""
    at = at or utcnow()
    enqueue(session, TRANSFERS_KIND, f"{TRANSFERS_KIND}:{at.strftime('%Y%m%d%H%M')}", run_at=at)


@handler(TAGS_KIND, scheduled=True)
def run_tag_push(session: Session, payload: dict) -> None:
    """Push enterprise tag changes to WeCom, and come back in a minute while WeCom is set up."""
    if not service.configuration().has_api:
        return  # the next callback or sync starts the round again
    request_tag_push(session, utcnow() + TAGS_EVERY)  # committed first: kept if this run fails
    session.commit()
    pushed = tag_push.push_tags(session, get_client(), budget=TAGS_BUDGET)
    if pushed.has_more:
        enqueue(session, TAGS_KIND, f"{TAGS_KIND}:from:{pushed.position}")


def request_tag_push(session: Session, at=None) -> None:
    """Queue a tag push (one a minute at most) when WeCom's API is configured."""
    if not service.configuration().has_api:
        return
    at = at or utcnow()
    enqueue(session, TAGS_KIND, f"{TAGS_KIND}:{at.strftime('%Y%m%d%H%M')}", run_at=at)
