"""The jobs WeCom work runs as: each stored callback, the full re-sync, and handovers sent to
WeCom with their results asked for until none waits."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.jobs import enqueue, handler
from siyu.wecom import flows, service
from siyu.wecom.client import get_client
from siyu.wecom.inbox import JOB_KIND
from siyu.wecom.sync import sync_customers

SYNC_KIND = "wecom.sync"
TRANSFERS_KIND = "wecom.transfers"
# A customer has 24 hours to refuse a transfer: results are asked for every 30 minutes until
# no move waits any more.
TRANSFERS_EVERY = timedelta(minutes=30)


@handler(JOB_KIND)
def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))


@handler(SYNC_KIND)
def run_sync(session: Session, payload: dict) -> None:
    sync_customers(session, get_client())


def request_sync(session: Session) -> None:
    """Queue a full re-sync (one per minute at most: a double click is one run)."""
    minute = utcnow().strftime("%Y%m%d%H%M")
    enqueue(session, SYNC_KIND, f"{SYNC_KIND}:{minute}")


@handler(TRANSFERS_KIND)
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
