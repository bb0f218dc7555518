"""BG/NBD and Gamma-Gamma, fitted by maximum likelihood (Fader, Hardie & Lee 2005).

BG/NBD ("Counting your customers the easy way"): while alive a customer buys at Poisson rate λ,
λ ~ Gamma(r, α) across customers; after each purchase they drop out with probability p,
p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (time of the last purchase)
and T (time since the first), all counted from the first purchase.
Gamma-Gamma ("RFM and CLV: using iso-value curves"): a customer's mean repeat purchase value m̄
over x purchases, with value ~ Gamma(p, ν) and ν ~ Gamma(q, γ) across customers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize
from scipy.special import gammaln, hyp2f1


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def p_alive(self, x, t_x, T) -> np.ndarray:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        odds = np.where(x > 0, self._dropout_odds(x, t_x, T), 0.0)
        return 1.0 / (1.0 + odds)

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (equation 10 of the paper)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        odds = np.where(x > 0, self._dropout_odds(x, t_x, T), 0.0)
        return head * tail / (1 + odds)

    def _dropout_odds(self, x, t_x, T) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        with np.errstate(divide="ignore", invalid="ignore"):
            return (a / (b + np.maximum(x, 1) - 1)) * ((alpha + T) / (alpha + t_x)) ** (r + x)


def bgnbd_log_likelihood(params, x, t_x, T, weights) -> float:
    r, alpha, a, b = params
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    safe_x = np.maximum(x, 1)
    a4 = np.where(
        x > 0, np.log(a) - np.log(b + safe_x - 1) - (r + x) * np.log(alpha + t_x), -np.inf
    )
    return float(np.sum(weights * (a1 + a2 + np.logaddexp(a3, a4))))


def fit_bgnbd(x, t_x, T, weights=None) -> BgNbd:
    """Maximum likelihood over log-parameters (so all four stay positive)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    x, t_x, T, weights = _grouped(weights, x, t_x, T)

    def negative(log_params):
        return -bgnbd_log_likelihood(np.exp(log_params), x, t_x, T, weights)

    best = _minimise(negative, 4)
    r, alpha, a, b = np.exp(best.x)
    return BgNbd(float(r), float(alpha), float(a), float(b), float(-best.fun))


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float

    def expected_value(self, x, mean_value) -> np.ndarray:
        """E[M | x, m̄]: the mean repeat value, shrunk toward the population's (x = 0: its mean)."""
        x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
        p, q, gamma = self.p, self.q, self.gamma
        return (gamma + m * x) * p / (p * x + q - 1)


def gamma_gamma_log_likelihood(params, x, m, weights) -> float:
    p, q, gamma = params
    px = p * x
    terms = (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return float(np.sum(weights * terms))


def fit_gamma_gamma(x, mean_value, weights=None) -> GammaGamma:
    """Fitted on customers with at least one repeat purchase and a positive mean value."""
    x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    kept = (x > 0) & (m > 0)
    x, m, weights = _grouped(weights[kept], x[kept], m[kept])

    def negative(log_params):
        return -gamma_gamma_log_likelihood(np.exp(log_params), x, m, weights)

    best = _minimise(negative, 3)
    p, q, gamma = np.exp(best.x)
    return GammaGamma(float(p), float(q), float(gamma), float(-best.fun))


def _grouped(weights, *columns):
    """Identical rows once, with their weight summed: a lake of a million customers has far
    fewer distinct (x, t_x, T)."""
    stacked = np.column_stack(columns)
    unique, inverse = np.unique(stacked, axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=weights)
    return (*(unique[:, i] for i in range(unique.shape[1])), summed)


def _minimise(negative, size: int):
    best = None
    for start in (np.zeros(size), np.full(size, 1.0)):
        found = minimize(
            negative,
            start,
            method="Nelder-Mead",
            options={"maxiter": 3_000, "xatol": 1e-8, "fatol": 1e-10},
        )
        found = minimize(negative, found.x, method="L-BFGS-B")
        if np.isfinite(found.fun) and (best is None or found.fun < best.fun):
            best = found
    if best is None:
        raise ValueError("the model could not be fitted to these customers")
    return best
