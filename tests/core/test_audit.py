"""The audit log records who changed what, with before and after, and never a secret."""

from __future__ import annotations

from sqlalchemy import select

from siyu.core.audit import AuditEntry, acting_as
from siyu.core.db import unit_of_work
from siyu.customers.service import merge_customers
from tests.helpers import identify, post_batch


def test_a_merge_by_a_person_is_audited_with_before_and_after(client, write_key, session):
    post_batch(client, write_key, [identify("u-1"), identify("u-2")])
    with acting_as("user:ops@brand.cn"), unit_of_work() as s:
        record = merge_customers(s, "u-2", "u-1", "ops")
    entries = session.scalars(select(AuditEntry).order_by(AuditEntry.id)).all()
    assert {e.actor for e in entries} == {"user:ops@brand.cn"}
    merged = next(
        e
        for e in entries
        if e.entity == "customers" and e.action == "update" and e.entity_id == str(record.merged_id)
    )
    assert merged.before["merged_into_id"] is None
    assert merged.after["merged_into_id"] == record.kept_id
    assert any(e.entity == "customer_merges" and e.action == "insert" for e in entries)


def test_tracked_events_are_not_copied_into_the_audit_log(client, write_key, session):
    post_batch(client, write_key, [identify("u-1", {"name": "A"})])
    assert session.scalar(select(AuditEntry)) is None


def test_secrets_never_reach_the_audit_log(session):
    from siyu.core.auth import create_token

    with acting_as("cli"), unit_of_work() as s:
        create_token(s, "ci", "analyst")
    entry = session.scalar(select(AuditEntry).where(AuditEntry.entity == "api_tokens"))
    assert entry is not None and "token_hash" not in entry.after
