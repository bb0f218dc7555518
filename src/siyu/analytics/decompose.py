"""Shapley split of a product's change among its factors: the parts always sum to the change."""

from __future__ import annotations

from itertools import combinations
from math import factorial, floor, prod


def shapley_split(before: list[float], after: list[float]) -> list[float]:
    """How much of prod(after) − prod(before) each factor explains.

    A factor's share is the average, over every order of switching the factors from their
    `before` to their `after` values one at a time, of the change its own switch makes. With n
    factors that is Σ over subsets S of the others of |S|!(n−|S|−1)!/n! × (v(S∪{i}) − v(S)),
    where v(S) is the product with the factors in S at their after values. The shares sum to the
    whole change exactly (the sum telescopes), zeros included, unlike a log split (LMDI), which
    has no answer when a factor is 0.
    """
    n = len(before)
    shares = []
    for i in range(n):
        others = [j for j in range(n) if j != i]
        share = 0.0
        for size in range(n):
            weight = factorial(size) * factorial(n - size - 1) / factorial(n)
            for chosen in combinations(others, size):
                switched = set(chosen)
                base = [after[j] if j in switched else before[j] for j in range(n)]
                with_i = base.copy()
                with_i[i] = after[i]
                share += weight * (prod(with_i) - prod(base))
        shares.append(share)
    return shares


def whole_fen(shares: list[float], total: int) -> list[int]:
    """Shares rounded to whole fen that still sum to `total` (largest remainder)."""
    floors = [floor(s) for s in shares]
    left = total - sum(floors)
    order = sorted(range(len(shares)), key=lambda i: (floors[i] - shares[i], i))
    for k in range(abs(left)):
        floors[order[k % len(order)]] += 1 if left > 0 else -1
    return floors
