"""Customer references in a file to the ids a Segment message names that customer by.

A reference is (type, value). Type `auto` takes what `siyu customers show` takes: an identity value
any customer has, else a Siyu customer id (identities first, so that a brand id seen before never
lands on the Siyu customer that happens to have that number), else the brand's own id, the user_id
of a new customer. `siyu` is a Siyu customer id; an identity type names that identity.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from siyu.customers import identity as ids
from siyu.customers.models import Customer, Identity

Ref = tuple[str, str]
Speaker = dict  # the id fields of a message: userId, or anonymousId (+ context.traits)
CHUNK = 500


def unusable(kind: str, raw: str) -> str:
    """Why this value cannot stand for a customer, in words a person knows."""
    what = {"phone": "a mobile number", "email": "an email address"}.get(kind)
    return f"{raw!r} is not {what}" if what else f"{raw!r} cannot identify a customer (as {kind})"


def derived_anonymous_id(kind: str, value: str) -> str:
    """A stable anonymousId for a customer an import knows only by, say, a phone number."""
    return f"import-{kind}-{hashlib.sha256(f'{kind}:{value}'.encode()).hexdigest()[:24]}"


def speakers(session: Session, refs: Iterable[Ref]) -> dict[Ref, Speaker | str]:
    """Each reference's message ids; a reason (str) for one that names no one."""
    refs = set(refs)
    found = _by_identity(session, refs)
    found |= _by_siyu_id(session, {r for r in refs if r not in found})
    live = _live(session, set(found.values()))
    voices = _voices(session, set(live.values()))
    return {ref: voices[live[found[ref]]] if ref in found else _newcomer(ref) for ref in refs}


def _candidates(ref: Ref) -> set[str]:
    kind, value = ref
    if kind != "auto":
        return {value}
    phone = ids.normalize_phone(value)
    return {value, value.lower()} | ({phone} if phone else set())


def _by_identity(session: Session, refs: set[Ref]) -> dict[Ref, int]:
    values = sorted({v for ref in refs if ref[0] != "siyu" for v in _candidates(ref)})
    holders: dict[str, list[tuple[str, int]]] = {}
    for start in range(0, len(values), CHUNK):
        rows = session.execute(
            select(Identity.type, Identity.value, Identity.customer_id).where(
                Identity.type.in_(ids.TYPES), Identity.value.in_(values[start : start + CHUNK])
            )
        )
        for kind, value, customer in rows:
            holders.setdefault(value, []).append((kind, customer))
    found = {}
    for ref in refs:
        best = _best_holder(ref, holders)
        if best is not None:
            found[ref] = best
    return found


def _best_holder(ref: Ref, holders: dict[str, list[tuple[str, int]]]) -> int | None:
    """An exact value beats a lower-cased or normalised one, then the stronger identity type."""
    kind, value = ref
    if kind == "siyu":
        return None
    matches = [
        (candidate != value, ids.PRIORITY[held_kind], customer)
        for candidate in _candidates(ref)
        for held_kind, customer in holders.get(candidate, [])
        if kind == "auto" or held_kind == kind
    ]
    return min(matches)[2] if matches else None


def _by_siyu_id(session: Session, refs: set[Ref]) -> dict[Ref, int]:
    numbered = {
        ref: int(ref[1])
        for ref in refs
        if ref[0] in ("auto", "siyu") and ref[1].isdecimal() and len(ref[1]) < 19
    }
    wanted = sorted(set(numbered.values()))
    existing: set[int] = set()
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        existing.update(session.scalars(select(Customer.id).where(Customer.id.in_(chunk))))
    return {ref: number for ref, number in numbered.items() if number in existing}


def _live(session: Session, customer_ids: set[int]) -> dict[int, int]:
    """Each customer id to the customer it was merged into, however deep (itself if none)."""
    live = {c: c for c in customer_ids}
    pending = set(customer_ids)
    while pending:
        rows = session.execute(
            select(Customer.id, Customer.merged_into_id).where(
                Customer.id.in_(pending), Customer.merged_into_id.is_not(None)
            )
        ).all()
        moved = {old: new for old, new in rows if new is not None}
        for origin, now in live.items():
            if now in moved:
                live[origin] = moved[now]
        pending = set(moved.values())
    return live


def _voices(session: Session, customer_ids: set[int]) -> dict[int, Speaker]:
    held: dict[int, list[tuple[str, str]]] = {c: [] for c in customer_ids}
    wanted = sorted(customer_ids)
    for start in range(0, len(wanted), CHUNK):
        rows = session.execute(
            select(Identity.customer_id, Identity.type, Identity.value)
            .where(Identity.customer_id.in_(wanted[start : start + CHUNK]))
            .order_by(Identity.id)
        )
        for customer, kind, value in rows:
            held[customer].append((kind, value))
    return {customer: _voice(customer, keys) for customer, keys in held.items()}


def _voice(customer_id: int, keys: list[tuple[str, str]]) -> Speaker:
    """Speak as the customer's user_id, else an anonymous id it has, so no new id is attached."""
    kinds = dict(reversed(keys))  # first identity of each type
    if "user_id" in kinds:
        return {"userId": kinds["user_id"]}
    if "anonymous_id" in kinds:
        return {"anonymousId": kinds["anonymous_id"]}
    if keys:
        kind, value = min(keys, key=lambda k: ids.PRIORITY[k[0]])
        spoken = _newcomer((kind, value))
        if isinstance(spoken, str):  # only a "siyu" reference is refused, and no identity is one
            raise ValueError(spoken)
        return spoken
    return {"anonymousId": f"siyu-customer-{customer_id}"}


def _newcomer(ref: Ref) -> Speaker | str:
    kind, value = ref
    if kind in ("auto", "user_id"):
        return {"userId": value}
    if kind == "siyu":
        return f"there is no customer {value}"
    return {"anonymousId": derived_anonymous_id(kind, value), "context": {"traits": {kind: value}}}
