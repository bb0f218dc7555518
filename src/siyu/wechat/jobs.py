"""The job each stored official-account callback runs as."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.core.jobs import handler
from siyu.wechat import flows
from siyu.wechat.inbox import JOB_KIND


@handler(JOB_KIND)
def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))
