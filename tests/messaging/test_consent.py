"""Consent and suppression: the record of each change, and an unsubscribe that stops every
message not yet handed over."""

from __future__ import annotations

import orjson
import pytest
from sqlalchemy import select

from siyu.core.errors import InvalidInput, NotFound
from siyu.events.models import OutboxEvent
from siyu.messaging import service
from siyu.messaging.models import ConsentChange, Suppression
from tests.messaging.factories import NOW, customer, delivery


def _events(session, name: str) -> list[OutboxEvent]:
    return list(session.scalars(select(OutboxEvent).where(OutboxEvent.event == name)))


def test_consent_is_recorded_with_its_history(session):
    cid = customer(session, "c1", email="a@example.com")
    service.set_consent(
        session, cid, "email", "subscribed", method="form", source="store form", actor="customer"
    )
    service.set_consent(
        session, cid, "email", "unsubscribed", method="one_click", source="mail", actor="customer"
    )
    shown = service.consent_of(session, cid)
    assert shown["email"].status == "unsubscribed" and shown["email"].method == "one_click"
    assert shown["sms"] is None
    history = session.scalars(select(ConsentChange).order_by(ConsentChange.id)).all()
    assert [(c.status, c.source) for c in history] == [
        ("subscribed", "store form"),
        ("unsubscribed", "mail"),
    ]


def test_the_same_status_again_changes_nothing(session):
    cid = customer(session, "c1")
    for _ in range(2):
        service.set_consent(
            session, cid, "sms", "subscribed", method="api", source="crm", actor="token:1"
        )
    assert len(session.scalars(select(ConsentChange)).all()) == 1


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("channel", {"channel": "fax"}),
        ("status", {"status": "maybe"}),
        ("method", {"method": "telepathy"}),
        ("source", {"source": " "}),
    ],
)
def test_bad_values_name_their_field(session, field, kwargs):
    cid = customer(session, "c1")
    values = {"channel": "email", "status": "subscribed", "method": "api", "source": "x"} | kwargs
    channel, status = values.pop("channel"), values.pop("status")
    with pytest.raises(InvalidInput) as problem:
        service.set_consent(session, cid, channel, status, actor="t", **values)
    assert problem.value.field == field


def test_an_unknown_customer_is_not_found(session):
    with pytest.raises(NotFound):
        service.set_consent(
            session, 999, "email", "subscribed", method="api", source="x", actor="t"
        )


def test_unsubscribe_cancels_planned_marketing_on_that_channel_only(session):
    cid = customer(session, "c1", email="a@example.com", phone="13800000001")
    marketing = delivery(session, cid, "email", address="a@example.com")
    receipt = delivery(session, cid, "email", address="a@example.com", purpose="transactional")
    sms = delivery(session, cid, "sms", address="13800000001")
    sent = delivery(session, cid, "email", key="old", address="a@example.com", status="sent")
    service.set_consent(
        session, cid, "email", "unsubscribed", method="console", source="phone call", actor="u:1"
    )
    session.expire_all()
    assert (marketing.status, marketing.reason) == ("cancelled", "unsubscribed")
    assert receipt.status == sms.status == "planned"
    assert sent.status == "sent"
    (event,) = _events(session, "Unsubscribed")
    assert event.customer_id == cid
    assert orjson.loads(event.properties)["channel"] == "email"


def test_unsubscribed_moves_no_last_seen(session):
    cid = customer(session, "c1")
    from siyu.customers.models import Customer

    before = session.get(Customer, cid).last_seen_at
    service.set_consent(
        session, cid, "wecom", "unsubscribed", method="console", source="asked", actor="u:1"
    )
    session.expire_all()
    assert session.get(Customer, cid).last_seen_at == before


def test_suppress_is_idempotent_and_cancels_deliveries_to_the_address(session):
    cid = customer(session, "c1", email="a@example.com")
    planned = delivery(session, cid, "email", address="a@example.com")
    receipt = delivery(session, cid, "email", address="a@example.com", purpose="transactional")
    first = service.suppress(session, "email", "A@Example.com", "bounced", source="smtp 550")
    again = service.suppress(session, "email", "a@example.com", "manual", source="console")
    assert first.id == again.id and again.reason == "bounced"
    session.expire_all()
    assert planned.status == receipt.status == "cancelled"  # a bounce stops receipts too
    assert len(session.scalars(select(Suppression)).all()) == 1


def test_unsubscribe_address_unsubscribes_everyone_holding_it(session):
    one = customer(session, "c1", phone="13800000001")
    other = customer(session, "c2", email="b@example.com")
    planned = delivery(session, one, "sms", address="13800000001")
    found = service.unsubscribe_address(
        session, "sms", "+86 138 0000 0001", method="reply", source="reply TD", actor="customer"
    )
    assert found == [one]
    assert service.consent_of(session, one)["sms"].status == "unsubscribed"
    assert service.consent_of(session, other)["sms"] is None
    (row,) = session.scalars(select(Suppression)).all()
    assert (row.address, row.reason, row.customer_id) == ("13800000001", "replied_unsubscribe", one)
    session.expire_all()
    assert planned.status == "cancelled"


def test_resubscribing_oneself_lifts_the_unsubscribe_suppression(session):
    cid = customer(session, "c1", email="a@example.com")
    service.unsubscribe_address(
        session, "email", "a@example.com", method="one_click", source="mail", actor="customer"
    )
    service.set_consent(
        session, cid, "email", "subscribed", method="import", source="old list", actor="u:1"
    )
    assert session.scalars(select(Suppression)).all()  # an import does not undo it
    service.set_consent(
        session, cid, "email", "unsubscribed", method="console", source="x", actor="u:1"
    )
    service.set_consent(
        session, cid, "email", "subscribed", method="form", source="sign-up", actor="customer"
    )
    assert not session.scalars(select(Suppression)).all()


def test_import_subscribes_by_any_identity_and_reports_unknown_values(session):
    by_phone = customer(session, "c1", phone="13800000001")
    by_email = customer(session, "c2", email="b@example.com")
    by_member = customer(session, "c3", member_id="M-77")
    left = customer(session, "c4", phone="13800000004")
    service.set_consent(
        session, left, "sms", "unsubscribed", method="reply", source="TD", actor="customer"
    )
    done = service.import_consents(
        session,
        [["phone"], ["138-0000-0001"], ["B@example.com"], ["M-77"], ["13800000004"], ["nobody"]],
        "sms",
        "store sign-up 2026-11",
        "cli",
    )
    assert (done.subscribed, done.kept_unsubscribed, done.unknown) == (3, 1, ["nobody"])
    for cid in (by_phone, by_email, by_member):
        consent = service.consent_of(session, cid)["sms"]
        assert (consent.status, consent.method, consent.source) == (
            "subscribed",
            "import",
            "store sign-up 2026-11",
        )
    again = service.import_consents(session, ["13800000001"], "sms", "again", "cli")
    assert (again.subscribed, again.unchanged) == (0, 1)


def test_reachability_follows_the_channel_semantics():
    assert service.is_reachable("wecom", None) and service.is_reachable("official_account", None)
    assert not service.is_reachable("email", None) and not service.is_reachable("sms", None)
    assert service.is_reachable("email", "subscribed")
    assert not service.is_reachable("wecom", "unsubscribed")
    assert NOW.tzinfo is not None
