"""Tagging by hand, in bulk (a segment, a list of ids and phones), groups, history, WeCom calls."""

from __future__ import annotations

import pytest

from siyu.core.db import unit_of_work
from siyu.core.errors import Conflict, InvalidInput
from siyu.customers import service as customers
from siyu.segments import service as segments
from siyu.tags import bulk, enterprise
from siyu.tags.service import (
    add_group,
    bulk_tag,
    ensure_tag,
    group_keys,
    history,
    holders,
    tag_customer,
    untag_customer,
)
from tests.segments.brand import Brand, identify, order


def _brand() -> Brand:
    brand = Brand()
    brand.send(identify("ann", "2026-10-01", phone="13800138001"), order("ann", "2026-10-02", 9))
    brand.send(identify("bob", "2026-10-01", phone="13800138002"))
    brand.ship()
    return brand


def test_history_says_who_added_and_removed_a_tag():
    brand = _brand()
    ann = brand.customer_id("ann")
    with unit_of_work() as s:
        s.info["actor"] = "user:op@brand.cn"
        tag = ensure_tag(s, "VIP", "enterprise")
        tag_customer(s, ann, tag.id)
        tag_customer(s, ann, tag.id)  # already there: no second change
        untag_customer(s, ann, tag.id, actor="cli")
        changes = history(s, customer_id=ann)
    assert [(c["action"], c["actor"], c["tag"]) for c in changes] == [
        ("removed", "cli", "VIP"),
        ("added", "user:op@brand.cn", "VIP"),
    ]


def test_bulk_from_a_list_of_ids_and_phones_and_from_a_segment():
    brand = _brand()
    ann, bob = brand.customer_id("ann"), brand.customer_id("bob")
    refs = customers.read_list(f"phone\n13800138002\n{ann}\nnobody\n".encode())
    with unit_of_work() as s:
        found, missing = bulk.resolve_refs(s, refs)
        assert (found, missing) == ({ann, bob}, ["nobody"])
        tag = ensure_tag(s, "618 buyers", "behaviour")
        assert bulk_tag(s, tag, found, actor="test") == 2
        assert bulk_tag(s, tag, found, actor="test") == 0
        segment = segments.create_segment(s, "buyers", "Buyers", {"event": "Order Completed"})
        segments.refresh(s, segment)
        assert bulk.tag_segment(s, tag, "buyers", remove=True, actor="test") == 1
        assert holders(s, tag.id) == {bob}
        assert len(history(s, tag_id=tag.id)) == 3


def test_brand_groups_join_the_built_in_ones():
    with unit_of_work() as s:
        add_group(s, "season", "Season")
        assert group_keys(s)[:4] == ["enterprise", "work", "life", "behaviour"]
        assert "season" in group_keys(s)
        assert ensure_tag(s, "Summer", "season").group == "season"
        with pytest.raises(Conflict):
            add_group(s, "work", "Work again")
        with pytest.raises(InvalidInput):
            ensure_tag(s, "Nowhere", "no-such-group")


def test_wecom_sets_enterprise_tags_and_reads_back_local_changes():
    brand = _brand()
    ann = brand.customer_id("ann")
    with unit_of_work() as s:
        gold = enterprise.upsert_enterprise_tag(s, "et-gold", "Gold")
        silver = enterprise.upsert_enterprise_tag(s, "et-silver", "Silver")
        assert enterprise.set_enterprise_tags(s, ann, ["et-gold"]) == (1, 0)
        assert enterprise.set_enterprise_tags(s, ann, ["et-silver"]) == (1, 1)
        assert enterprise.enterprise_changes(s) == []  # WeCom's own changes are not sent back
        tag_customer(s, ann, gold.id, actor="user:op@brand.cn")
        sent = enterprise.enterprise_changes(s)
    assert [(c["external_id"], c["action"]) for c in sent] == [("et-gold", "added")]
    assert silver.group == "enterprise"
