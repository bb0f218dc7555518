"""The job each stored official-account callback runs as."""

from __future__ import annotations

from sqlalchemy.orm import Session

from siyu.wechat import flows


def process_callback(session: Session, payload: dict) -> None:
    flows.process(session, int(payload["callback_id"]))
