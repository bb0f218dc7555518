"""The role table as a test: every route of the app × (no login, admin, operator, analyst, guide).

RULES names the permission (src/siyu/core/permissions.py) each route needs. A route missing from
RULES fails `test_every_route_has_an_entry_in_the_role_table`: a new page gets its entry here.
"""

from __future__ import annotations

import io
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

import pytest

from siyu.app import create_app
from siyu.core.audit import acting_as
from siyu.core.auth import create_token
from siyu.core.db import unit_of_work
from siyu.core.permissions import PERMISSIONS, can
from siyu.customers.service import find_customer, merge_customers
from siyu.events.sources import create_key
from siyu.staff.service import assign_owner
from siyu.users.service import create_user
from tests.console_support import PASSWORD, csrf_of, sign_in
from tests.helpers import identify, post_batch

ROLES = (None, "admin", "operator", "analyst", "guide")
SKIPPED_PREFIXES = ("/v1/", "/static", "/docs", "/redoc", "/q/")  # /q/: the public QR landing
SKIPPED = {"/openapi.json", "/login", "/logout", "/lang", "/healthz"}
SKIPPED |= {"/favicon.ico"}  # the icon, public like /static
# Platform callbacks: authenticated by the platform's signature, not by a role.
SKIPPED |= {"/wecom/callback", "/wechat/callback"}
# SMS providers' pushes: authenticated by the secret token in the address, not by a role.
SKIPPED |= {
    "/sms/aliyun/report/{token}",
    "/sms/aliyun/up/{token}",
    "/sms/tencent/status/{token}",
    "/sms/tencent/reply/{token}",
}
# Public by design: a message's tracked link and unsubscribe page.
SKIPPED_PREFIXES += ("/l/", "/u/")
# Public by design: the customer pages, signed in by their own cookie (tests/promotions/test_h5*).
SKIPPED_PREFIXES += ("/h5/",)
_serial = itertools.count(1)


@dataclass
class World:
    """Objects the routes' path parameters name: a customer the guide owns, a tag, an import…"""

    client: object
    write_key: str
    customer_id: int
    tag_id: int
    import_id: str
    source_id: int
    token_id: int
    spare_user_id: int
    tokens: dict[str, str] = field(default_factory=dict)

    def new_pair(self) -> tuple[str, str]:
        """Two new identified customers, for a merge."""
        n = next(_serial)
        merged, kept = f"merge-a-{n}", f"merge-b-{n}"
        post_batch(self.client, self.write_key, [identify(merged), identify(kept)])
        return merged, kept

    def new_merge(self) -> int:
        merged, kept = self.new_pair()
        with acting_as("test"), unit_of_work() as s:
            return merge_customers(s, merged, kept, "test").id


@dataclass(frozen=True)
class Rule:
    permission: str
    ok: frozenset[int] = frozenset()  # the answer to a role holding the permission
    body: Callable[[World], dict] | None = None  # keyword arguments for the request


def _form(**fields) -> Callable[[World], dict]:
    return lambda world: {"data": {k: v() if callable(v) else v for k, v in fields.items()}}


def _unique(prefix: str) -> Callable[[], str]:
    return lambda: f"{prefix}-{next(_serial)}"


def _report_body(world: World) -> dict:
    return {"json": {"period": {"start": "2026-11-01", "end": "2026-11-07"}}}


def _funnel_body(world: World) -> dict:
    return {"json": {"period": {"start": "2026-11-01", "end": "2026-11-07"}, "template": "aarrr"}}


def _ltv_body(world: World) -> dict:
    return {"json": {"calibration_end": "2026-11-07"}}


def _as_of_body(world: World) -> dict:
    return {"json": {"as_of": "2026-11-07"}}


def _merge_body(world: World) -> dict:
    merged, kept = world.new_pair()
    return {"json": {"merged": merged, "kept": kept}}


def _upload(world: World) -> dict:
    csv = b"phone,name\n13800000009,Li Lei\n"
    return {"data": {"kind": "customers"}, "files": {"file": ("c.csv", csv, "text/csv")}}


def _segment_body(world: World) -> dict:
    return {"json": {"key": f"s-{next(_serial)}", "name": "S", "rule": {"tag": "Gold"}}}


def _task_api_body(world: World) -> dict:
    return {"json": {"title": "T", "due_date": "2026-12-31", "customer_ids": [world.customer_id]}}


def _rule_body(world: World) -> dict:
    return {"json": {"rule": {"tag": "Gold"}}}


def _journey(key: str) -> dict:
    steps = [{"id": "bye", "kind": "exit"}]
    return {"key": key, "name": "J", "entry": {"event": "Signed Up"}, "steps": steps}


def _journey_body(world: World) -> dict:
    return {"json": {"definition": _journey(f"j-{next(_serial)}")}}


def _new_journey() -> str:
    """A published journey with a draft waiting: it can be published, paused and shown."""
    from siyu.journeys import service as journeys

    key = f"j-{next(_serial)}"
    with unit_of_work() as s:
        journeys.create_journey(s, _journey(key), "test")
        journeys.publish(s, key, "test")
        journeys.save_draft(s, key, _journey(key) | {"name": "J2"}, "test")
    return key


def _new_broadcast(world: World) -> int:
    from siyu.broadcasts import service as broadcasts

    with acting_as("test"), unit_of_work() as s:
        return broadcasts.create(
            s,
            name="Access broadcast",
            actor="test",
            channels=["sms"],
            variants=[broadcasts.VariantSpec(text="Hi")],
            customer_ids=[world.customer_id],
        ).id


def _broadcast_form(world: World) -> dict:
    fields = {"name": "B", "audience": "list", "customers": str(world.customer_id)}
    return {"data": {**fields, "channel_1": "sms", "text_a": "Hi", "action": "draft"}}


def _broadcast_body(world: World) -> dict:
    body = {"name": "B", "channels": ["sms"], "variants": [{"text": "Hi"}]}
    return {"json": {**body, "customers": [str(world.customer_id)]}}


def _template_body() -> dict:
    return {
        "key": f"t-{next(_serial)}",
        "name": "券",
        "kind": "amount",
        "amount": 10,
        "valid_days": 30,
        "per_customer": 100,
    }


def _new_template() -> str:
    from siyu.promotions.service import create_template

    body = _template_body()
    with unit_of_work() as s:
        create_template(s, body["key"], "券", "amount", amount_fen=1000, valid_days=30)
    return body["key"]


def _new_coupon(world: World) -> str:
    from siyu.promotions.service import issue

    key = _new_template()
    with unit_of_work() as s:
        return issue(s, key, [world.customer_id]).coupons[0].code


_sales: list[str] = []


def _order() -> str:
    return f"order-{next(_serial)}"


def _payment(world: World) -> dict:
    return {"json": {"customer": world.customer_id, "order_id": _order(), "amount": 59}}


def _new_activity() -> str:
    from datetime import UTC, datetime, timedelta

    from siyu.promotions.group_buys import create_group_buy
    from siyu.promotions.tiered import create_tiered

    key, now = f"act-{next(_serial)}", datetime.now(UTC)
    start, end = now - timedelta(hours=1), now + timedelta(days=2)
    with unit_of_work() as s:
        create_group_buy(s, key, "拼团", "SKU-1", 5900, 3, 24, start, end)
        create_tiered(s, key, "阶梯价", "SKU-1", 9900, [(10, 8900)], start, end)
    return key


def _leader() -> int:
    from siyu.customers.models import Customer

    with unit_of_work() as s:
        leader = Customer()
        s.add(leader)
        s.flush()
        return leader.id


def _new_group(leader: int | None = None) -> str:
    from siyu.promotions.group_buys import open_group

    key = _new_activity()
    with unit_of_work() as s:
        return open_group(s, key, leader or _leader(), _order(), 5900).code


def _new_refund(world: World) -> int:
    from datetime import UTC, datetime, timedelta

    from siyu.promotions.group_buys import close_due
    from siyu.promotions.refunds import list_refunds

    _new_group(world.customer_id)
    with unit_of_work() as s:
        close_due(s, now=datetime.now(UTC) + timedelta(days=3))
        return list_refunds(s, "pending")[-1].id


def _new_sale() -> str:
    from datetime import UTC, datetime, timedelta

    from siyu.promotions.flash import create_sale

    key, now = f"sale-{next(_serial)}", datetime.now(UTC)
    with unit_of_work() as s:
        create_sale(
            s,
            key,
            "秒杀",
            "SKU-1",
            9900,
            1000,
            100,
            now - timedelta(hours=1),
            now + timedelta(days=1),
        )
    _sales.append(key)
    return key


def _new_reservation(world: World) -> int:
    from siyu.promotions.flash import reserve

    with unit_of_work() as s:
        return reserve(s, _sales[-1], world.customer_id).id


def _unique_phone() -> str:
    return f"1370000{next(_serial):04}"


def _new_suppression(world: World) -> int:
    from siyu.messaging.service import suppress

    with unit_of_work() as s:
        return suppress(s, "sms", _unique_phone(), "manual", source="access").id


def _consent_body(world: World) -> dict:
    return {"json": {"channel": "sms", "status": "subscribed", "source": "access"}}


def _new_segment() -> str:
    from siyu.segments.service import create_segment

    with unit_of_work() as s:
        return create_segment(s, f"s-{next(_serial)}", "S", {"tag": "Gold"}).key


def _new_code() -> str:
    from siyu.codes.service import create_code

    with acting_as("test"), unit_of_work() as s:
        return create_code(s, "Access poster", code=f"acc-{next(_serial)}").code


def _new_batch() -> int:
    from siyu.codes.batch import create_batch

    with acting_as("test"), unit_of_work() as s:
        return create_batch(s, "Access batch", f"ACC{next(_serial)}", 1).id


def _new_staff() -> int:
    from siyu.staff.service import create_staff

    with acting_as("test"), unit_of_work() as s:
        return create_staff(s, "Access guide", wecom_userid=f"acc-{next(_serial)}").id


def _new_store() -> int:
    from siyu.staff.service import create_store

    with acting_as("test"), unit_of_work() as s:
        return create_store(s, f"acc-{next(_serial)}", "Access store").id


def _assign_upload(world: World) -> dict:
    # An id that names nobody: the page answers with its summary, and no owner changes.
    listing = b"customer_id\n999999\n"
    return {
        "data": {"guide_id": str(_new_staff())},
        "files": {"file": ("list.csv", listing, "text/csv")},
    }


def _assign_api_body(world: World) -> dict:
    return {"json": {"guide_id": _new_staff(), "customer_ids": [999999]}}


def _new_handover() -> int:
    from siyu.staff.handover import hand_over

    staff_id = _new_staff()
    with unit_of_work() as s:
        return hand_over(s, staff_id, "least_loaded", "moving", "test").id


def _new_trait_label() -> int:
    from siyu.settings.labels import save_label

    with unit_of_work() as s:
        return save_label(s, f"trait-{next(_serial)}", "", "属性", "").id


def _new_task(world: World) -> int:
    from siyu.tasks.service import create_task

    with unit_of_work() as s:
        return create_task(
            s, "Access task", date(2026, 12, 31), "test", customer_ids=[world.customer_id]
        ).id


def _task_body(world: World) -> dict:
    from siyu.segments.service import create_segment

    with unit_of_work() as s:
        segment = create_segment(s, f"t-{next(_serial)}", "T", {"tag": "Gold"})
        segment.refreshed_at = datetime(2026, 11, 30, tzinfo=UTC)
        key = segment.key
    return {"data": {"title": "T", "kind": "message", "segment": key, "due_date": "2026-12-31"}}


SHOWN = frozenset({200})  # a form whose answer is the page itself (a secret shown once)
CHECKED_OR_REFUSED = frozenset({303, 400, 409})  # imports: started, or refused for its state
RULES: dict[tuple[str, str], Rule] = {
    # console home, customers, touchpoints, placeholders
    ("GET", "/"): Rule("dashboard.view"),
    ("GET", "/customers"): Rule("customers.view"),
    ("GET", "/customers/{ref}"): Rule("customers.view"),
    ("POST", "/customers/merges/{merge_id}/undo"): Rule("customers.edit"),
    ("POST", "/customers/{customer_id}/tags"): Rule("customers.edit", body=_form(name="VIP")),
    ("POST", "/customers/{customer_id}/tags/{tag_id}/remove"): Rule("customers.edit"),
    ("GET", "/touchpoints"): Rule("touchpoints.view"),
    ("GET", "/touchpoints.csv"): Rule("touchpoints.view"),
    # channel codes, guides and handovers
    ("GET", "/codes"): Rule("codes.view"),
    ("POST", "/codes"): Rule("codes.manage", body=_form(name=_unique("code"))),
    ("GET", "/codes.csv"): Rule("codes.view"),
    ("GET", "/codes/{code}"): Rule("codes.view"),
    ("POST", "/codes/{code}/routes"): Rule("codes.manage"),
    # WeCom is not configured here: the page says which settings to set (503).
    ("POST", "/codes/{code}/contact-way"): Rule("codes.manage", frozenset({503})),
    # The official account is not configured here: the page says which settings to set.
    ("POST", "/codes/{code}/scene-qr"): Rule("codes.manage", frozenset({503})),
    ("GET", "/codes/{code}/qr.svg"): Rule("codes.view"),
    ("GET", "/codes/{code}/qr.png"): Rule("codes.view"),
    ("GET", "/codes/{code}/numbers.csv"): Rule("codes.view"),
    ("POST", "/codes/batches"): Rule(
        "codes.manage", body=_form(name="Cups", prefix=lambda: f"CUP{next(_serial)}", count="1")
    ),
    ("GET", "/codes/batches/{batch_id}/progress"): Rule("codes.view"),
    ("GET", "/codes/batches/{batch_id}/download"): Rule("codes.view", frozenset({404})),
    ("GET", "/staff"): Rule("staff.view"),
    ("POST", "/staff/{staff_id}"): Rule("staff.manage", body=_form(role="guide")),
    ("GET", "/staff/handovers"): Rule("staff.view"),
    ("POST", "/staff/handovers"): Rule(
        "staff.manage", body=_form(from_staff_id=lambda: str(_new_staff()))
    ),
    ("POST", "/staff/handovers/retry"): Rule("staff.manage"),
    ("GET", "/staff/handovers/{handover_id}"): Rule("staff.view"),
    # stores, staff and owners without WeCom
    ("POST", "/staff/new"): Rule("staff.manage", body=_form(name="New guide")),
    ("GET", "/staff/stores"): Rule("staff.view"),
    ("POST", "/staff/stores"): Rule("staff.manage", body=_form(code=_unique("st"), name="S")),
    ("POST", "/staff/stores/{store_id}"): Rule(
        "staff.manage", body=_form(code=_unique("st"), name="S")
    ),
    ("POST", "/staff/teams"): Rule("staff.manage", body=_form(name=_unique("team"))),
    ("GET", "/staff/assign"): Rule("staff.manage"),
    ("POST", "/staff/assign"): Rule("staff.manage", frozenset({200}), body=_assign_upload),
    ("GET", "/staff/owner/{customer_id}"): Rule("staff.manage"),
    ("POST", "/staff/owner/{customer_id}"): Rule(
        "staff.manage", body=_form(guide_id=lambda: str(_new_staff()))
    ),
    # guide tasks (导购任务): a guide sees and does their own
    ("GET", "/tasks"): Rule("tasks.view"),
    ("POST", "/tasks"): Rule("tasks.manage", body=_task_body),
    ("GET", "/tasks/{task_id}"): Rule("tasks.view"),
    ("POST", "/tasks/{task_id}/done"): Rule(
        "tasks.do", body=lambda w: {"data": {"customer_id": str(w.customer_id)}}
    ),
    ("POST", "/tasks/{task_id}/close"): Rule("tasks.manage"),
    ("POST", "/tasks/{task_id}/customers/{customer_id}/tags"): Rule(
        "tasks.do", body=_form(name="高潜")
    ),
    ("POST", "/tasks/{task_id}/customers/{customer_id}/notes"): Rule(
        "tasks.do", body=_form(body="周末到店")
    ),
    ("GET", "/workbench"): Rule("workbench.view"),
    ("POST", "/customers/{customer_id}/notes"): Rule("customers.note", body=_form(body="到店")),
    ("GET", "/segments"): Rule("customers.view", frozenset({200, 303})),
    ("GET", "/reach"): Rule("customers.view", frozenset({200, 303})),
    # reach: broadcasts, channels
    ("GET", "/reach/broadcasts"): Rule("broadcasts.view"),
    ("GET", "/reach/broadcasts/new"): Rule("broadcasts.manage"),
    ("POST", "/reach/broadcasts/preview"): Rule("broadcasts.manage", frozenset({200})),
    ("POST", "/reach/broadcasts"): Rule("broadcasts.manage", body=_broadcast_form),
    ("GET", "/reach/broadcasts/{broadcast_id}"): Rule("broadcasts.view"),
    ("POST", "/reach/broadcasts/{broadcast_id}/send"): Rule("broadcasts.manage"),
    ("POST", "/reach/broadcasts/{broadcast_id}/cancel"): Rule("broadcasts.manage"),
    ("POST", "/reach/broadcasts/{broadcast_id}/remind"): Rule("broadcasts.manage"),
    ("GET", "/reach/channels"): Rule("channels.manage"),
    ("POST", "/reach/channels/{channel}"): Rule("channels.manage", body=_form(mode="console")),
    ("POST", "/reach/channels-caps"): Rule("channels.manage"),
    ("POST", "/reach/channels-quiet"): Rule("channels.manage"),
    ("GET", "/reach/consent"): Rule("consent.view"),
    ("GET", "/reach/my"): Rule("workbench.view"),
    ("GET", "/reach/customers/{customer_id}"): Rule("consent.view"),
    ("POST", "/reach/my/{group_send_id}/confirm"): Rule("workbench.view", frozenset({404})),
    ("POST", "/reach/consent/{customer_id}"): Rule(
        "consent.edit", body=_form(channel="sms", status="subscribed", source="access")
    ),
    ("POST", "/reach/consent-import"): Rule(
        "consent.edit",
        body=lambda w: {
            "data": {"channel": "sms", "source": "access"},
            "files": {"file": ("c.csv", b"owned-1\n", "text/csv")},
        },
        ok=frozenset({200}),
    ),
    ("POST", "/reach/suppressions"): Rule(
        "consent.edit", body=_form(channel="sms", address=_unique_phone, source="access")
    ),
    ("POST", "/reach/suppressions/{suppression_id}/remove"): Rule("consent.edit"),
    ("GET", "/api/broadcasts"): Rule("broadcasts.view"),
    ("POST", "/api/broadcasts"): Rule("broadcasts.manage", frozenset({201}), body=_broadcast_body),
    ("GET", "/api/broadcasts/{broadcast_id}"): Rule("broadcasts.view"),
    ("GET", "/api/broadcasts/{broadcast_id}/preview"): Rule("broadcasts.view"),
    ("POST", "/api/broadcasts/{broadcast_id}/send"): Rule(
        "broadcasts.manage", body=lambda w: {"json": {}}
    ),
    ("POST", "/api/broadcasts/{broadcast_id}/cancel"): Rule("broadcasts.manage"),
    ("GET", "/api/consent/{ref}"): Rule("consent.view"),
    ("PUT", "/api/consent/{ref}"): Rule("consent.edit", body=_consent_body),
    ("POST", "/api/consent/{ref}"): Rule("consent.edit", body=_consent_body),
    ("POST", "/api/consent/import"): Rule(
        "consent.edit",
        body=lambda w: {"json": {"channel": "sms", "source": "access", "values": ["owned-1"]}},
    ),
    # promotions (活动): coupon templates and flash sales
    ("GET", "/promotions"): Rule("promotions.view"),
    ("GET", "/promotions/coupons/new"): Rule("promotions.manage"),
    ("POST", "/promotions/coupons"): Rule(
        "promotions.manage",
        body=_form(key=_unique("t"), name="满减券", kind="amount", amount="10", valid_days="30"),
    ),
    ("GET", "/promotions/coupons/{template_key}"): Rule("promotions.view"),
    ("POST", "/promotions/coupons/{template_key}/issue"): Rule(
        "promotions.manage",
        SHOWN,  # the template's page, answering how many were issued
        body=lambda w: {"data": {"audience": "list", "customers": str(w.customer_id)}},
    ),
    ("POST", "/promotions/coupons/{template_key}/status"): Rule(
        "promotions.manage", body=_form(status="paused")
    ),
    ("GET", "/promotions/flash-sales/new"): Rule("promotions.manage"),
    ("POST", "/promotions/flash-sales"): Rule(
        "promotions.manage",
        body=_form(
            key=_unique("sale"),
            name="秒杀",
            product="SKU-1",
            price="99",
            stock="10",
            starts_at="2026-12-12T20:00",
            ends_at="2026-12-12T22:00",
        ),
    ),
    ("GET", "/promotions/members"): Rule("promotions.view"),
    ("GET", "/promotions/members/card/{customer_id}"): Rule("promotions.view"),
    ("POST", "/promotions/members/tiers"): Rule(
        "promotions.manage",
        body=_form(key=_unique("tier"), name="银卡", least=lambda: str(next(_serial))),
    ),
    ("POST", "/promotions/members/settings"): Rule(
        "promotions.manage", body=_form(points_per_yuan="1", basis="spend", window_days="365")
    ),
    ("GET", "/promotions/flash-sales/{sale_key}"): Rule("promotions.view"),
    ("GET", "/promotions/flash-sales/{sale_key}/live"): Rule("promotions.view"),
    ("POST", "/promotions/flash-sales/{sale_key}/status"): Rule(
        "promotions.manage", body=_form(status="paused")
    ),
    ("GET", "/promotions/group-buys/new"): Rule("promotions.manage"),
    ("POST", "/promotions/group-buys"): Rule(
        "promotions.manage",
        body=_form(
            key=_unique("group"),
            name="拼团",
            product="SKU-1",
            price="59",
            size="3",
            hours="24",
            starts_at="2026-12-12T20:00",
            ends_at="2026-12-14T20:00",
        ),
    ),
    ("GET", "/promotions/group-buys/{activity_key}"): Rule("promotions.view"),
    ("GET", "/promotions/group-buys/{activity_key}/live"): Rule("promotions.view"),
    ("POST", "/promotions/group-buys/{activity_key}/status"): Rule(
        "promotions.manage", body=_form(status="paused")
    ),
    ("GET", "/promotions/tiered/new"): Rule("promotions.manage"),
    ("POST", "/promotions/tiered"): Rule(
        "promotions.manage",
        body=_form(
            key=_unique("tiered"),
            name="阶梯价",
            product="SKU-1",
            base_price="99",
            tiers="10 = 89",
            starts_at="2026-12-12T20:00",
            ends_at="2026-12-14T20:00",
        ),
    ),
    ("GET", "/promotions/tiered/{activity_key}"): Rule("promotions.view"),
    ("GET", "/promotions/tiered/{activity_key}/live"): Rule("promotions.view"),
    ("POST", "/promotions/tiered/{activity_key}/status"): Rule(
        "promotions.manage", body=_form(status="paused")
    ),
    ("GET", "/analytics"): Rule("dashboard.view"),
    # reports
    ("GET", "/reports"): Rule("reports.view"),
    ("GET", "/reports/gmv"): Rule("reports.view"),
    ("GET", "/reports/gmv.csv"): Rule("reports.view"),
    ("POST", "/api/reports/gmv"): Rule("reports.view", body=_report_body),
    ("GET", "/reports/retention"): Rule("reports.view"),
    ("GET", "/reports/retention.csv"): Rule("reports.view"),
    ("GET", "/reports/rfm"): Rule("reports.view"),
    ("GET", "/reports/rfm.csv"): Rule("reports.view"),
    ("GET", "/reports/attribution"): Rule("reports.view"),
    ("GET", "/reports/attribution.csv"): Rule("reports.view"),
    ("POST", "/api/reports/retention"): Rule("reports.view", body=_report_body),
    ("POST", "/api/reports/rfm"): Rule("reports.view", body=_as_of_body),
    ("POST", "/api/reports/attribution"): Rule("reports.view", body=_report_body),
    ("GET", "/reports/funnels"): Rule("reports.view"),
    ("GET", "/reports/funnels.csv"): Rule("reports.view"),
    ("GET", "/reports/ltv"): Rule("reports.view"),
    ("GET", "/reports/ltv.csv"): Rule("reports.view"),
    ("GET", "/reports/guides"): Rule("reports.view"),
    ("GET", "/reports/guides.csv"): Rule("reports.view"),
    ("GET", "/reports/goods"): Rule("reports.view"),
    ("GET", "/reports/goods.csv"): Rule("reports.view"),
    ("POST", "/api/reports/funnels"): Rule("reports.view", body=_funnel_body),
    ("POST", "/api/reports/ltv"): Rule("reports.view", body=_ltv_body),
    ("POST", "/api/reports/guides"): Rule("reports.view", body=_report_body),
    ("POST", "/api/reports/goods"): Rule("reports.view", body=_report_body),
    # imports
    ("GET", "/imports"): Rule("imports.view"),
    ("POST", "/imports"): Rule("imports.run", body=_upload),
    ("GET", "/imports/{import_id}"): Rule("imports.view"),
    ("GET", "/imports/{import_id}/progress"): Rule("imports.view"),
    ("POST", "/imports/{import_id}/check"): Rule("imports.run", CHECKED_OR_REFUSED),
    ("POST", "/imports/{import_id}/run"): Rule("imports.run", CHECKED_OR_REFUSED),
    ("GET", "/imports/{import_id}/rejected"): Rule("imports.view", frozenset({200, 404})),
    # settings
    ("GET", "/settings"): Rule("imports.view"),
    ("GET", "/settings/keys"): Rule("keys.manage"),
    ("POST", "/settings/keys"): Rule("keys.manage", SHOWN, _form(name=_unique("pos"))),
    ("POST", "/settings/keys/{source_id}/revoke"): Rule("keys.manage"),
    ("GET", "/settings/tokens"): Rule("tokens.manage"),
    ("POST", "/settings/tokens"): Rule(
        "tokens.manage", SHOWN, _form(name=_unique("bi"), role="analyst")
    ),
    ("POST", "/settings/tokens/{token_id}/revoke"): Rule("tokens.manage"),
    ("GET", "/settings/users"): Rule("users.manage"),
    ("POST", "/settings/users"): Rule(
        "users.manage",
        body=_form(email=lambda: f"u{next(_serial)}@brand.cn", role="analyst", password=PASSWORD),
    ),
    ("GET", "/settings/users/{user_id}"): Rule("users.manage"),
    ("POST", "/settings/users/{user_id}/role"): Rule("users.manage", body=_form(role="analyst")),
    ("POST", "/settings/users/{user_id}/active"): Rule("users.manage", body=_form(active="1")),
    ("POST", "/settings/users/{user_id}/unlock"): Rule("users.manage"),
    ("GET", "/settings/audit"): Rule("audit.view"),
    ("GET", "/settings/traits"): Rule("customers.edit"),
    ("POST", "/settings/traits"): Rule("customers.edit", body=_form(trait=_unique("t"), zh="名")),
    ("POST", "/settings/traits/{label_id}/remove"): Rule("customers.edit"),
    # WeCom
    ("GET", "/wecom"): Rule("wecom.view"),
    ("GET", "/wecom/sync"): Rule("wecom.manage"),
    ("POST", "/wecom/sync"): Rule("wecom.manage"),
    ("POST", "/wecom/transfers"): Rule("wecom.manage"),
    # management API
    ("GET", "/api/customers/{ref}"): Rule("customers.view"),
    ("POST", "/api/customers/merge"): Rule("customers.edit", body=_merge_body),
    ("POST", "/api/customers/merges/{merge_id}/undo"): Rule("customers.edit"),
    # tags and segments pages
    ("GET", "/tags"): Rule("tags.view"),
    ("POST", "/tags"): Rule("tags.edit", body=_form(name=_unique("tag"))),
    ("POST", "/tags/groups"): Rule(
        "tags.edit", body=_form(key=lambda: f"g{next(_serial)}", name="G")
    ),
    ("POST", "/tags/bulk"): Rule("tags.edit", body=_form(tag="Gold", segment=_new_segment)),
    ("POST", "/tags/lifecycle"): Rule(
        "tags.edit", body=_form(new_days="30", active_days="90", churned_days="180")
    ),
    ("POST", "/tags/evaluate"): Rule("tags.edit"),
    ("GET", "/segments/list"): Rule("segments.view"),
    ("GET", "/segments/new"): Rule("segments.edit"),
    ("POST", "/segments/new"): Rule(
        "segments.edit", body=_form(key=_unique("s"), name="S", kind_0="tag", tag_0="Gold")
    ),
    ("POST", "/segments/preview"): Rule("segments.view", SHOWN, _form(kind_0="tag", tag_0="Gold")),
    ("GET", "/segments/{key}"): Rule("segments.view"),
    ("POST", "/segments/{key}/refresh"): Rule("segments.edit"),
    ("GET", "/segments/{key}/progress"): Rule("segments.view"),
    ("GET", "/segments/{key}/export.csv"): Rule("segments.view"),
    ("GET", "/segments/{key}/edit"): Rule("segments.edit"),
    ("POST", "/segments/{key}/edit"): Rule(
        "segments.edit", body=_form(name="S2", kind_0="tag", tag_0="Gold")
    ),
    # segments API
    ("GET", "/api/tasks"): Rule("tasks.view"),
    ("POST", "/api/tasks"): Rule("tasks.manage", frozenset({201}), body=_task_api_body),
    ("GET", "/api/tasks/{task_id}"): Rule("tasks.view"),
    ("GET", "/api/tasks/{task_id}/assignments"): Rule("tasks.view"),
    ("POST", "/api/tasks/{task_id}/done"): Rule(
        "tasks.do", body=lambda w: {"json": {"customer_id": w.customer_id}}
    ),
    ("POST", "/api/tasks/{task_id}/close"): Rule("tasks.manage"),
    ("GET", "/journeys"): Rule("journeys.view"),
    ("POST", "/journeys"): Rule(
        "journeys.manage",
        frozenset({303}),
        body=lambda w: {"data": {"definition": json.dumps(_journey(f"j-{next(_serial)}"))}},
    ),
    ("GET", "/journeys/{journey_key}"): Rule("journeys.view"),
    ("POST", "/journeys/{journey_key}/draft"): Rule(
        "journeys.manage",
        frozenset({303, 400}),  # the body cannot know the journey's key: refused, by role
        body=lambda w: {"data": {"definition": json.dumps(_journey("jd") | {"name": "J3"})}},
    ),
    ("POST", "/journeys/{journey_key}/steps"): Rule(
        "journeys.manage",
        frozenset({303, 400}),
        body=lambda w: {"data": {"kind": "tag", "step_id": f"s-{next(_serial)}", "tag": "x"}},
    ),
    ("POST", "/journeys/{journey_key}/steps/{step_id}/{edit}"): Rule(
        "journeys.manage",
        frozenset({303, 400}),  # its one step removed: a draft with none
    ),
    ("POST", "/journeys/{journey_key}/publish"): Rule("journeys.manage"),
    ("POST", "/journeys/{journey_key}/pause"): Rule("journeys.manage"),
    ("POST", "/journeys/{journey_key}/resume"): Rule("journeys.manage", frozenset({303, 400})),
    ("GET", "/api/journeys"): Rule("journeys.view"),
    ("POST", "/api/journeys"): Rule("journeys.manage", frozenset({201}), body=_journey_body),
    ("GET", "/api/journeys/{journey_key}"): Rule("journeys.view"),
    ("POST", "/api/journeys/{journey_key}/publish"): Rule("journeys.manage"),
    ("POST", "/api/journeys/{journey_key}/pause"): Rule("journeys.manage"),
    ("GET", "/api/stores"): Rule("staff.view"),
    ("POST", "/api/stores"): Rule(
        "staff.manage",
        frozenset({201}),
        body=lambda w: {"json": {"code": _unique("st")(), "name": "S"}},
    ),
    ("PATCH", "/api/stores/{store_id}"): Rule(
        "staff.manage", body=lambda w: {"json": {"name": "X"}}
    ),
    ("GET", "/api/teams"): Rule("staff.view"),
    ("POST", "/api/teams"): Rule("staff.manage", body=lambda w: {"json": {"name": _unique("t")()}}),
    ("GET", "/api/staff"): Rule("staff.view"),
    ("POST", "/api/staff"): Rule(
        "staff.manage", frozenset({201}), body=lambda w: {"json": {"name": "G"}}
    ),
    ("PATCH", "/api/staff/{staff_id}"): Rule(
        "staff.manage", body=lambda w: {"json": {"name": "G"}}
    ),
    ("POST", "/api/customers/assign"): Rule("staff.manage", body=_assign_api_body),
    ("GET", "/api/segments"): Rule("segments.view"),
    ("POST", "/api/segments"): Rule("segments.edit", body=_segment_body),
    ("POST", "/api/segments/preview"): Rule("segments.view", body=_rule_body),
    ("GET", "/api/segments/{key}"): Rule("segments.view"),
    ("PUT", "/api/segments/{key}"): Rule("segments.edit", body=lambda w: {"json": {"name": "Y"}}),
    ("DELETE", "/api/segments/{key}"): Rule("segments.edit"),
    ("POST", "/api/segments/{key}/refresh"): Rule("segments.edit"),
    ("GET", "/api/segments/{key}/refresh"): Rule("segments.view"),
    ("GET", "/api/segments/{key}/members"): Rule("segments.view"),
    ("GET", "/api/segments/{key}/export.csv"): Rule("segments.view"),
    # promotions: the routes a mall token also reaches are in MALL_ROUTES below
    ("GET", "/api/coupon-templates"): Rule("promotions.view"),
    ("POST", "/api/coupon-templates"): Rule(
        "promotions.manage", frozenset({201}), body=lambda w: {"json": _template_body()}
    ),
    ("GET", "/api/coupon-templates/{template_key}"): Rule("promotions.view"),
    ("POST", "/api/coupon-templates/{template_key}/issue"): Rule(
        "promotions.manage", body=lambda w: {"json": {"customers": [str(w.customer_id)]}}
    ),
    ("POST", "/api/coupon-templates/{template_key}/status"): Rule(
        "promotions.manage", body=lambda w: {"json": {"status": "paused"}}
    ),
    ("GET", "/api/coupons"): Rule(
        "promotions.view", body=lambda w: {"params": {"customer": str(w.customer_id)}}
    ),
    ("GET", "/api/coupons/{coupon_code}"): Rule("promotions.view"),
    ("GET", "/api/flash-sales/{sale_key}"): Rule("promotions.view"),
    ("POST", "/api/group-buys/{activity_key}/groups"): Rule(
        "promotions.checkout", frozenset({201}), body=lambda w: _payment(w)
    ),
    ("POST", "/api/group-buys/groups/{group_code}/join"): Rule(
        "promotions.checkout", body=lambda w: _payment(w)
    ),
    ("GET", "/api/group-buys/groups/{group_code}"): Rule("promotions.view"),
    ("POST", "/api/tiered/{activity_key}/participants"): Rule(
        "promotions.checkout",
        frozenset({201}),
        body=lambda w: {"json": {"customer": w.customer_id, "order_id": _order()}},
    ),
    ("GET", "/api/tiered/{activity_key}"): Rule("promotions.view"),
    ("GET", "/api/promotion-refunds"): Rule("promotions.view"),
    ("POST", "/api/promotion-refunds/{refund_id}/confirm"): Rule(
        "promotions.checkout", body=lambda w: {"json": {"reference": "R-1"}}
    ),
    ("POST", "/api/flash-sales/{sale_key}/reservations"): Rule(
        "promotions.checkout",
        frozenset({201}),
        body=lambda w: {"json": {"customer": w.customer_id}},
    ),
    ("POST", "/api/flash-sales/{sale_key}/reservations/{reservation_id}/confirm"): Rule(
        "promotions.checkout", body=lambda w: {"json": {"order_id": f"order-{next(_serial)}"}}
    ),
    ("POST", "/api/flash-sales/{sale_key}/reservations/{reservation_id}/cancel"): Rule(
        "promotions.checkout"
    ),
    # a sale with units left takes no waiters (409): the point here is who may ask
    ("POST", "/api/flash-sales/{sale_key}/waitlist"): Rule(
        "promotions.checkout",
        frozenset({201, 409}),
        body=lambda w: {"json": {"customer": w.customer_id}},
    ),
    ("POST", "/api/coupons/{coupon_code}/redeem"): Rule(
        "promotions.checkout",
        body=lambda w: {"json": {"order_id": f"order-{next(_serial)}", "amount": 100}},
    ),
    ("GET", "/api/members/{customer}"): Rule("promotions.view"),
    # a template points do not buy (409): the point here is who may ask
    ("POST", "/api/members/{customer}/points/spend"): Rule(
        "promotions.checkout",
        frozenset({409}),
        body=lambda w: {"json": {"coupon_template": _new_template()}},
    ),
}
PARAMS: dict[str, Callable[[World], object]] = {
    "store_id": lambda w: _new_store(),
    "ref": lambda w: w.customer_id,
    "customer": lambda w: w.customer_id,
    "customer_id": lambda w: w.customer_id,
    "tag_id": lambda w: w.tag_id,
    "merge_id": lambda w: w.new_merge(),
    "import_id": lambda w: w.import_id,
    "source_id": lambda w: w.source_id,
    "token_id": lambda w: w.token_id,
    "user_id": lambda w: w.spare_user_id,
    "code": lambda w: _new_code(),
    "batch_id": lambda w: _new_batch(),
    "staff_id": lambda w: _new_staff(),
    "handover_id": lambda w: _new_handover(),
    "key": lambda w: _new_segment(),
    "task_id": _new_task,
    "journey_key": lambda w: _new_journey(),
    "step_id": lambda w: "bye",  # _journey's one step
    "edit": lambda w: "remove",
    "broadcast_id": _new_broadcast,
    "channel": lambda w: "email",
    "suppression_id": _new_suppression,
    "group_send_id": lambda w: 999999,  # none: a guide's own is tested in test_reach_pages
    "label_id": lambda w: _new_trait_label(),
    "template_key": lambda w: _new_template(),
    "coupon_code": lambda w: _new_coupon(w),
    "sale_key": lambda w: _new_sale(),
    "activity_key": lambda w: _new_activity(),  # a group buy and a tiered price, one key
    "group_code": lambda w: _new_group(),
    "refund_id": lambda w: _new_refund(w),
    "reservation_id": lambda w: _new_reservation(w),  # in the sale just made for the path
}


def app_routes() -> set[tuple[str, str]]:
    """(method, path) of every route the app serves, the skipped ones left out."""
    app = create_app()
    try:  # FastAPI ≥ 0.120 keeps included routers whole; this walks into them
        from fastapi.routing import iter_route_contexts

        routes = list(iter_route_contexts(app.routes))
    except ImportError:
        routes = app.routes
    found = set()
    for route in routes:
        path = route.path or ""
        if path in SKIPPED or path.startswith(SKIPPED_PREFIXES):
            continue
        for method in set(getattr(route, "methods", None) or ()) - {"HEAD"}:
            found.add((method, path))
    return found


def test_every_route_has_an_entry_in_the_role_table():
    routes = app_routes()
    missing = sorted(routes - RULES.keys())
    assert not missing, f"add these routes to RULES in tests/console/test_access.py: {missing}"
    stale = sorted(RULES.keys() - routes)
    assert not stale, f"these RULES name routes that no longer exist: {stale}"


def test_every_rule_names_a_known_permission_and_fills_its_path():
    for (_, path), rule in RULES.items():
        assert rule.permission in PERMISSIONS, path
        assert set(re.findall(r"{(\w+)}", path)) <= PARAMS.keys(), path


@pytest.fixture
def world(client, users, write_key) -> World:
    post_batch(client, write_key, [identify("owned-1"), identify("not-mine-1")])
    with acting_as("test"), unit_of_work() as s:
        mine = find_customer(s, "owned-1")
        assign_owner(s, mine.id, users["guide_staff_id"])
        assign_owner(s, find_customer(s, "not-mine-1").id, users["other_staff_id"])
        ids = _objects(s, mine.id)
        tokens = _tokens(s, users["guide_staff_id"])
    return World(client, write_key, mine.id, tokens=tokens, **ids)


def _objects(s, customer_id: int) -> dict:
    from siyu.imports import jobs
    from siyu.tags.service import ensure_tag, tag_customer

    tag = ensure_tag(s, "Gold")
    tag_customer(s, customer_id, tag.id)
    upload = io.BytesIO(b"phone,name\n13800000001,Han Meimei\n")
    record = jobs.store_upload(s, "customers", "c.csv", upload, "admin@brand.cn")
    source, _ = create_key(s, "store-pos")
    token, _ = create_token(s, "spare", "analyst")
    spare = create_user(s, "spare@brand.cn", PASSWORD, "operator")
    return {
        "tag_id": tag.id,
        "import_id": record.id,
        "source_id": source.id,
        "token_id": token.id,
        "spare_user_id": spare.id,
    }


def _tokens(s, guide_staff_id: int) -> dict[str, str]:
    tokens = {}
    for role in ("admin", "operator", "analyst", "guide"):
        staff_id = guide_staff_id if role == "guide" else None
        _, tokens[role] = create_token(s, f"as-{role}", role, staff_id)
    return tokens


def expected(method: str, path: str, role: str | None) -> str:
    rule = RULES[(method, path)]
    if role is None:
        return "401" if path.startswith("/api/") else "login"
    if not can(role, rule.permission):
        return "403"
    default = 200 if method == "GET" or path.startswith("/api/") else 303
    return "/".join(str(s) for s in sorted(rule.ok or {default}))


def outcome(world: World, method: str, path: str, role: str | None, csrf: str) -> str:
    rule = RULES[(method, path)]
    url = path.format(**{name: PARAMS[name](world) for name in re.findall(r"{(\w+)}", path)})
    kwargs = rule.body(world) if rule.body else {}
    if path.startswith("/api/"):
        if role:
            kwargs["headers"] = {"Authorization": f"Bearer {world.tokens[role]}"}
    elif method != "GET":
        kwargs["data"] = {"csrf_token": csrf, **kwargs.get("data", {})}
    response = world.client.request(method, url, follow_redirects=False, **kwargs)
    if response.status_code == 303 and response.headers["location"].startswith("/login"):
        return "login"
    return str(response.status_code)


@pytest.mark.parametrize("role", ROLES, ids=[r or "no-login" for r in ROLES])
def test_each_role_gets_what_the_table_says(world, users, role):
    client = world.client
    client.cookies.clear()
    csrf = ""
    if role:
        assert sign_in(client, users[role]).status_code == 303
        csrf = csrf_of(client.get("/").text)
    wrong = []
    for method, path in sorted(app_routes() & RULES.keys()):
        want, got = expected(method, path, role), outcome(world, method, path, role, csrf)
        if got not in want.split("/"):
            wrong.append(f"{method} {path}: expected {want}, got {got}")
    assert not wrong, f"as {role or 'no login'}:\n" + "\n".join(wrong)


def test_a_guide_cannot_open_another_guides_customer(world, signed_in, client):
    with unit_of_work() as s:
        theirs = find_customer(s, "not-mine-1").id
    guide = signed_in("guide")
    assert guide.get(f"/customers/{theirs}").status_code == 404
    bearer = {"Authorization": f"Bearer {world.tokens['guide']}"}
    client.cookies.clear()
    assert client.get(f"/api/customers/{theirs}", headers=bearer).status_code == 404
    assert client.get(f"/api/customers/{world.customer_id}", headers=bearer).status_code == 200


# What a `mall` token (the brand's mall, mini-program or POS) may reach: checkout, nothing else.
MALL_ROUTES = {
    ("POST", "/api/group-buys/{activity_key}/groups"),
    ("POST", "/api/group-buys/groups/{group_code}/join"),
    ("GET", "/api/group-buys/groups/{group_code}"),
    ("POST", "/api/tiered/{activity_key}/participants"),
    ("GET", "/api/tiered/{activity_key}"),
    ("GET", "/api/promotion-refunds"),
    ("POST", "/api/promotion-refunds/{refund_id}/confirm"),
    ("GET", "/api/flash-sales/{sale_key}"),
    ("POST", "/api/flash-sales/{sale_key}/reservations"),
    ("POST", "/api/flash-sales/{sale_key}/reservations/{reservation_id}/confirm"),
    ("POST", "/api/flash-sales/{sale_key}/reservations/{reservation_id}/cancel"),
    ("POST", "/api/flash-sales/{sale_key}/waitlist"),
    ("GET", "/api/coupons"),
    ("GET", "/api/coupons/{coupon_code}"),
    ("POST", "/api/coupons/{coupon_code}/redeem"),
    ("GET", "/api/members/{customer}"),
    ("POST", "/api/members/{customer}/points/spend"),
}


def test_a_mall_token_reaches_checkout_and_nothing_else(world):
    with unit_of_work() as s:
        _, world.tokens["mall"] = create_token(s, "the-mall", "mall")
    world.client.cookies.clear()
    wrong = []
    for method, path in sorted(r for r in app_routes() & RULES.keys() if r[1].startswith("/api/")):
        got = outcome(world, method, path, "mall", "")
        allowed = (method, path) in MALL_ROUTES
        if (got == "403") == allowed:
            wrong.append(f"{method} {path}: {got}")
    assert not wrong, "\n".join(wrong)
