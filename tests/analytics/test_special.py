"""The LTV models' special functions: known values, and SciPy's (a dev dependency, through
`lifetimes`) over the ranges the fits use."""

from __future__ import annotations

import math

import numpy as np
import pytest

from siyu.analytics.special import digamma, hyp2f1, log_beta, log_gamma

EULER_GAMMA = 0.5772156649015329


def test_known_values():
    assert log_gamma([1.0, 2.0, 5.0, 0.5]) == pytest.approx(
        [0.0, 0.0, math.log(24), math.log(math.pi) / 2], abs=1e-15
    )
    assert digamma([1.0, 0.5]) == pytest.approx(
        [-EULER_GAMMA, -EULER_GAMMA - 2 * math.log(2)], rel=1e-15
    )
    assert float(log_beta(2.0, 3.0)) == pytest.approx(math.log(1 / 12), rel=1e-15)
    z = np.array([0.0, 0.3, 0.9, 0.999])
    # ₂F₁(1, 1; 2; z) = −ln(1 − z) / z, and ₂F₁(a, b; b; z) = (1 − z)^−a
    assert hyp2f1(1.0, 1.0, 2.0, z[1:]) == pytest.approx(-np.log1p(-z[1:]) / z[1:], rel=1e-14)
    assert hyp2f1(0.4, 2.5, 2.5, z) == pytest.approx((1 - z) ** -0.4, rel=1e-14)


def test_zero_and_a_series_that_does_not_end_in_time():
    assert float(log_gamma(0.0)) == math.inf
    assert math.isnan(float(hyp2f1(1.0, 1.0, 2.0, 1 - 1e-7)))


def test_they_match_scipy_where_the_fits_use_them():
    special = pytest.importorskip("scipy.special")
    rng = np.random.default_rng(5)
    z = np.concatenate([rng.uniform(1.2e-4, 1, 500), rng.uniform(1, 1e4, 500)])
    assert log_gamma(z) == pytest.approx(special.gammaln(z), rel=1e-14, abs=1e-14)
    assert digamma(z) == pytest.approx(special.digamma(z), rel=1e-14, abs=1e-14)
    a, b = rng.uniform(1e-3, 20, 500), rng.uniform(1e-3, 2_000, 500)
    assert log_beta(a, b) == pytest.approx(special.betaln(a, b), rel=1e-11)
    # BG/NBD's series (clv.BgNbd.expected_purchases): a + b − 1 − r, a − 1; a + b + x − 1
    r, a, b = 0.24, rng.uniform(0.2, 3, 500), rng.uniform(0.5, 10, 500)
    x, z = rng.integers(0, 60, 500), rng.uniform(0, 0.99, 500)
    assert hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z) == pytest.approx(
        special.hyp2f1(a + b - 1 - r, a - 1, a + b + x - 1, z), rel=1e-12
    )
