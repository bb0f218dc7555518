"""The special functions the LTV models need (clv.py), elementwise in numpy: log-gamma, log-beta,
digamma, and Gauss's hypergeometric series for 0 ≤ z < 1."""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import ArrayLike

# ψ(z) ~ ln z − 1/(2z) − Σ B₂ₖ / (2k z²ᵏ): the coefficients B₂ₖ / 2k for k = 1 … 6. From z ≥ 10
# the first term left out, 1/(12 z¹⁴), is below 1e-15.
_DIGAMMA_SERIES = (1 / 12, -1 / 120, 1 / 252, -1 / 240, 1 / 132, -691 / 32760)
_DIGAMMA_STEPS = np.arange(10.0)  # 1/(z + k) for k = 0 … 9

# Gauss's series stops once what is left is below this part of its sum, or after this many terms.
_SERIES_PRECISION = 1e-16
_SERIES_TERMS = 200_000
_SERIES_BLOCK = 64  # terms taken at once: numpy's loop, not Python's, runs along the series


def _lgamma(value: float) -> float:
    if value > 0:
        return math.lgamma(value)
    return math.inf if value == 0 else math.nan  # the models never ask below zero


_lgamma_each = np.frompyfunc(_lgamma, 1, 1)


def log_gamma(z: ArrayLike) -> np.ndarray:
    """ln Γ(z) for z > 0 (the standard library's lgamma, element by element): the models call it
    on one value per distinct purchase count, so a loop in Python costs little."""
    return np.asarray(_lgamma_each(np.asarray(z, dtype=float)), dtype=float)


def log_beta(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """ln B(a, b) = ln Γ(a) + ln Γ(b) − ln Γ(a + b) for a, b > 0."""
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return log_gamma(a) + log_gamma(b) - log_gamma(a + b)


def digamma(z: ArrayLike) -> np.ndarray:
    """ψ(z) = d ln Γ(z) / dz for z > 0: the recurrence ψ(z) = ψ(z + n) − Σₖ₌₀ⁿ⁻¹ 1/(z + k) carries
    every z past 10, where the asymptotic series is exact to about 1e-15."""
    z = np.asarray(z, dtype=float)
    steps = (1.0 / (z[..., np.newaxis] + _DIGAMMA_STEPS)).sum(axis=-1)
    w = z + len(_DIGAMMA_STEPS)
    u = 1.0 / (w * w)
    c1, c2, c3, c4, c5, c6 = _DIGAMMA_SERIES
    series = u * (c1 + u * (c2 + u * (c3 + u * (c4 + u * (c5 + u * c6)))))
    return np.log(w) - 0.5 / w - series - steps


def hyp2f1(a: ArrayLike, b: ArrayLike, c: ArrayLike, z: ArrayLike) -> np.ndarray:
    """Gauss's ₂F₁(a, b; c; z) = Σₙ (a)ₙ (b)ₙ / ((c)ₙ n!) zⁿ, element by element, for 0 ≤ z < 1 and
    c neither zero nor a negative integer.

    The series converges for every such z; its terms end up falling like n^(a+b−c−1) zⁿ, so the
    number needed grows like 1/(1 − z), and where the exponent is large they first grow: keep it
    small (Euler's transformation, as clv.py does). Each element stops, checked every 64 terms,
    once the last term times q/(1 − q) is below 1e-16 of its sum (q the larger of the last ratio of
    terms and z: a bound on the ratios to come once they have settled). An element still going
    after 200,000 terms (z within about 2e-4 of one) is NaN rather than a partial sum."""
    a, b, c, z = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (a, b, c, z)))
    shape = z.shape
    a, b, c, z = (v.ravel()[:, np.newaxis] for v in (a, b, c, z))
    total, term = np.ones(len(z)), np.ones(len(z))
    going = np.flatnonzero(~np.isnan(z[:, 0]))
    total[np.isnan(z[:, 0])] = np.nan
    for n in range(0, _SERIES_TERMS, _SERIES_BLOCK):
        if going.size == 0:
            break
        k = np.arange(n, n + _SERIES_BLOCK)
        ratios = (a[going] + k) * (b[going] + k) / ((c[going] + k) * (k + 1)) * z[going]
        terms = term[going, np.newaxis] * np.cumprod(ratios, axis=1)
        total[going] += terms.sum(axis=1)
        term[going] = terms[:, -1]
        q = np.maximum(np.abs(ratios[:, -1]), z[going, 0])
        left = np.abs(term[going]) * q
        done = (q < 1) & (left <= _SERIES_PRECISION * (1 - q) * np.abs(total[going]))
        going = going[~done]
    total[going] = np.nan
    return total.reshape(shape)
