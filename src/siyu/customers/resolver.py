"""Resolve the ids an event carries to one customer, a batch at a time (one lookup per batch)."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from siyu.core.db import table_of, utcnow
from siyu.customers import identity as ids
from siyu.customers.models import Customer, CustomerMerge, Identity
from siyu.orders.models import Order

Key = tuple[str, str]


def lock_identities(session: Session, keys: Iterable[Key]) -> None:
    """PostgreSQL: one transaction lock per identity, taken in one global order, so batches
    naming the same new person queue behind each other instead of deadlocking on the unique
    index; the preload that follows then sees what the first one created."""
    if session.get_bind().dialect.name != "postgresql":
        return
    locks = sorted({_lock_id(key) for key in keys})
    session.execute(
        text(
            "SELECT count(pg_advisory_xact_lock(h)) FROM "
            "(SELECT unnest(CAST(:locks AS bigint[])) AS h ORDER BY 1) AS ordered"
        ),
        {"locks": locks},
    )


def _lock_id(key: Key) -> int:
    digest = hashlib.blake2b(f"{key[0]}\0{key[1]}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class Resolver:
    """Caches identities and customers for one transaction; every change goes to the session."""

    def __init__(self, session: Session, actor: str = "system"):
        self.session = session
        self.actor = actor
        self.owner_of: dict[Key, int] = {}
        self.customers: dict[int, Customer] = {}
        self.counts: dict[int, dict[str, int]] = {}
        self.known: set[Key] = set()
        self.new_identities: list[dict] = []

    def preload(self, keys: Iterable[Key]) -> None:
        """Fetch every identity named in a batch, and their customers, in a few queries."""
        by_type: dict[str, list[str]] = defaultdict(list)
        for key in set(keys):
            if key not in self.known:
                by_type[key[0]].append(key[1])
        found: set[int] = set()
        for kind, values in by_type.items():
            # One IN list per type uses the (type, value) index; a row-value IN scans the table.
            for start in range(0, len(values), 500):
                chunk = values[start : start + 500]
                rows = self.session.execute(
                    select(Identity.value, Identity.customer_id).where(
                        Identity.type == kind, Identity.value.in_(chunk)
                    )
                )
                for value, customer_id in rows:
                    self.owner_of[(kind, value)] = customer_id
                    found.add(customer_id)
                self.known.update((kind, value) for value in chunk)
        # Not `found - self.customers.keys()`: that walks every cached customer, per event.
        self._load_customers({c for c in found if c not in self.customers})

    def _load_customers(self, customer_ids: set[int]) -> None:
        if not customer_ids:
            return
        for customer in self.session.scalars(select(Customer).where(Customer.id.in_(customer_ids))):
            self.customers[customer.id] = customer
            self.counts[customer.id] = defaultdict(int)
        rows = self.session.execute(
            select(Identity.customer_id, Identity.type).where(
                Identity.customer_id.in_(customer_ids)
            )
        )
        for customer_id, kind in rows:
            self.counts[customer_id][kind] += 1

    def customer(self, customer_id: int) -> Customer:
        if customer_id not in self.customers:
            self._load_customers({customer_id})
        return self.customers[customer_id]

    def resolve(self, keys: list[Key], merge_reason: str = "identify") -> Customer:
        """The customer these ids name, created when none does; anonymous-only ones fold in."""
        keys = sorted(dict.fromkeys(keys), key=lambda k: ids.PRIORITY[k[0]])
        self.preload(keys)
        owners = [self.owner_of.get(k) for k in keys]
        primary_id = next((o for o in owners if o is not None), None)
        top = keys[0]
        if primary_id is not None and self.owner_of.get(top) is None:
            held = self.counts[primary_id][top[0]]
            if held >= ids.LIMITS[top[0]]:
                # The strongest id is new and the customer already holds its limit of that type
                # (another user on a shared device): this is someone else.
                primary_id = None
        primary = self.customer(primary_id) if primary_id else self._create()
        for key, owner in zip(keys, owners, strict=True):
            if owner is None:
                self._attach(primary, key)
            elif owner != primary.id and not self.customer(owner).is_identified:
                self.merge(self.customer(owner), primary, merge_reason)
        return primary

    def _create(self) -> Customer:
        customer = Customer(traits={})
        self.session.add(customer)
        self.session.flush()
        self.customers[customer.id] = customer
        self.counts[customer.id] = defaultdict(int)
        return customer

    def _attach(self, customer: Customer, key: Key) -> None:
        kind, value = key
        if self.counts[customer.id][kind] >= ids.LIMITS[kind]:
            return
        self.new_identities.append({"type": kind, "value": value, "customer_id": customer.id})
        self.owner_of[key] = customer.id
        self.known.add(key)
        self.counts[customer.id][kind] += 1
        if kind != "anonymous_id":
            customer.is_identified = True

    def flush(self) -> None:
        """Write the new identities (one INSERT for all of them) and the session's changes."""
        if self.new_identities:
            self.session.execute(insert(table_of(Identity)), self.new_identities)
            self.new_identities = []
        self.session.flush()

    def merge(self, merged: Customer, kept: Customer, reason: str) -> CustomerMerge:
        """Fold `merged` into `kept`: identities and orders move, and the record can undo it."""
        self.flush()
        identity_ids = list(
            self.session.scalars(select(Identity.id).where(Identity.customer_id == merged.id))
        )
        order_ids = list(
            self.session.scalars(select(Order.id).where(Order.customer_id == merged.id))
        )
        record = CustomerMerge(
            kept_id=kept.id,
            merged_id=merged.id,
            reason=reason,
            actor=self.actor,
            moved_identity_ids=identity_ids,
            moved_order_ids=order_ids,
            kept_before=snapshot(kept),
            merged_before=snapshot(merged),
        )
        self.session.add(record)
        self.session.execute(
            update(Identity).where(Identity.customer_id == merged.id).values(customer_id=kept.id)
        )
        self.session.execute(
            update(Order).where(Order.customer_id == merged.id).values(customer_id=kept.id)
        )
        for key, owner in list(self.owner_of.items()):
            if owner == merged.id:
                self.owner_of[key] = kept.id
        for kind, n in self.counts.pop(merged.id, {}).items():
            self.counts[kept.id][kind] += n
        absorb(kept, merged)
        merged.merged_into_id = kept.id
        self.session.flush()
        return record


def snapshot(customer: Customer) -> dict:
    """The fields a merge may change, as JSON, so an undo can put them back."""

    def iso(value):
        return value.isoformat() if value else None

    return {
        "traits": dict(customer.traits or {}),
        "is_identified": customer.is_identified,
        "first_seen_at": iso(customer.first_seen_at),
        "last_seen_at": iso(customer.last_seen_at),
        "first_touchpoint": customer.first_touchpoint,
        "first_touch_at": iso(customer.first_touch_at),
        "last_touchpoint": customer.last_touchpoint,
        "last_touch_at": iso(customer.last_touch_at),
        "owner_id": customer.owner_id,
        "store_id": customer.store_id,
    }


def absorb(kept: Customer, merged: Customer) -> None:
    """Kept wins every trait it has; the merged customer fills the gaps and widens the dates."""
    kept.traits = {**(merged.traits or {}), **(kept.traits or {})}
    kept.is_identified = kept.is_identified or merged.is_identified
    kept.owner_id = kept.owner_id or merged.owner_id
    kept.store_id = kept.store_id or merged.store_id
    if merged.first_seen_at and (
        not kept.first_seen_at or merged.first_seen_at < kept.first_seen_at
    ):
        kept.first_seen_at = merged.first_seen_at
    if merged.last_seen_at and (not kept.last_seen_at or merged.last_seen_at > kept.last_seen_at):
        kept.last_seen_at = merged.last_seen_at
    if merged.first_touch_at and (
        not kept.first_touch_at or merged.first_touch_at < kept.first_touch_at
    ):
        kept.first_touchpoint, kept.first_touch_at = merged.first_touchpoint, merged.first_touch_at
    if merged.last_touch_at and (
        not kept.last_touch_at or merged.last_touch_at > kept.last_touch_at
    ):
        kept.last_touchpoint, kept.last_touch_at = merged.last_touchpoint, merged.last_touch_at
    kept.updated_at = utcnow()
