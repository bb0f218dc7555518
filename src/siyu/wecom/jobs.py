"""The jobs WeCom work runs as: each stored callback, and the full re-sync."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.db import utcnow
from siyu.core.jobs import enqueue, handler
from siyu.wecom import flows
from siyu.wecom.client import get_client
from siyu.wecom.inbox import JOB_KIND
from siyu.wecom.sync import sync_customers

SYNC_KIND = "wecom.sync"


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
