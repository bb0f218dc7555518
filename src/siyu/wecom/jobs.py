"""The jobs WeCom work runs as: each stored callback, and the full re-sync."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.jobs import handler
from siyu.wecom import flows
from siyu.wecom.inbox import JOB_KIND


@handler(JOB_KIND)
def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))
