"""Holdout and variant arms: a deterministic hash of (origin, origin id, customer id), computed
the same in Python and in SQL (SQLite and PostgreSQL), so a re-plan assigns the same arms."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from sqlalchemy.sql import ColumnElement

from siyu.core.errors import InvalidInput

BUCKETS = 10_000  # holdout and variant shares are drawn in hundredths of a percent
_P = 2_147_483_647  # a prime below 2^31: every step of the arm hash stays inside BIGINT


def arm_seed(origin: str, origin_id: int | None) -> int:
    digest = hashlib.sha256(f"{origin}:{origin_id}".encode()).digest()
    return int.from_bytes(digest[:8], "big") % _P


def arm_bucket(origin: str, origin_id: int | None, customer_id: int) -> int:
    """0..9999, the same as plan's SQL computes: a re-plan assigns the same arms."""
    seed = arm_seed(origin, origin_id)
    mixed = ((customer_id + seed) % _P * 48271 + 11) % _P * 69621 % _P
    return (mixed * mixed + seed) % _P % BUCKETS


def bucket_sql(customer_id: ColumnElement[Any], seed: int) -> tuple[ColumnElement[Any], Any]:
    """The SQL of arm_bucket in two steps (the second squares the first, so it needs a column)."""
    mixed = ((customer_id + seed) % _P * 48271 + 11) % _P * 69621 % _P
    return mixed, lambda m: (m * m + seed) % _P % BUCKETS


def arm_cuts(holdout_percent: float, variants: Sequence[tuple[str, int]]) -> list[tuple[str, int]]:
    """Bucket thresholds: ("holdout", h), then each variant's upper bound, the last at 10,000."""
    if not 0 <= holdout_percent < 100:
        raise InvalidInput(
            "holdout must be 0 or more and under 100 percent", field="holdout_percent"
        )
    if not variants or any(w <= 0 for _, w in variants):
        raise InvalidInput("each variant needs a weight above 0", field="variants")
    if len({k for k, _ in variants}) != len(variants) or "holdout" in {k for k, _ in variants}:
        raise InvalidInput("variant keys must be distinct (and not 'holdout')", field="variants")
    held = round(holdout_percent * BUCKETS / 100)
    total, running, cuts = sum(w for _, w in variants), 0, [("holdout", held)]
    for key, weight in variants:
        running += weight
        cuts.append((key, held + round((BUCKETS - held) * running / total)))
    return cuts


def arm_of(bucket: int, cuts: Sequence[tuple[str, int]]) -> str:
    for key, upper in cuts:
        if bucket < upper:
            return key
    return cuts[-1][0]
