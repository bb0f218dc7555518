"""BG/NBD and Gamma-Gamma, fitted by maximum likelihood (Fader, Hardie & Lee 2005).

BG/NBD ("Counting your customers the easy way"): while alive a customer buys at Poisson rate λ,
λ ~ Gamma(r, α) across customers; after each purchase they drop out with probability p,
p ~ Beta(a, b). A customer is summarised by x (repeat purchases), t_x (time of the last purchase)
and T (time since the first), all counted from the first purchase.
Gamma-Gamma ("RFM and CLV: using iso-value curves"): a customer's mean repeat purchase value m̄
over x purchases, with value ~ Gamma(p, ν) and ν ~ Gamma(q, γ) across customers.

Both are fitted the same way: the data scaled to about one (time by the longest T, money by the
mean value), the parameters on a log scale within bounds, projected Newton steps (`_minimise`) from
several starts, the best finite log-likelihood kept. A fit that is not a proper maximum says why
in `problem` and is not to be used.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from itertools import product

import numpy as np

from siyu.analytics.special import digamma, hyp2f1, log_beta, log_gamma

# The parameters' range on the scaled data, on a log scale (e^±9 ≈ 1.2e-4 … 8.1e3): a maximum
# this far out is the model running away from the data, not a fit.
LOG_BOUND = 9.0
AT_BOUND = 1e-3  # this close (in log) to a bound counts as at it
AGREEING_STARTS = 3  # this many starts reaching the same best maximum end the search
MAX_NEWTON_STEPS = 200
HESSIAN_STEP = 1e-6  # in log-parameters: the forward differences' error is about this size

# Why a fit is not a proper maximum.
TOO_FEW = "too_few_customers"
NOT_FINITE = "not_finite"
AT_A_BOUND = "at_bound"
POSITIVE_LOG_LIKELIHOOD = "positive_log_likelihood"
NO_FINITE_MEAN = "q_not_above_one"

Objective = Callable[[np.ndarray], tuple[float, np.ndarray]]


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float
    problem: str | None = None  # None when the fit is a proper interior maximum

    def p_alive(self, x, t_x, T) -> np.ndarray:
        x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
        return 1.0 / (1.0 + self._dropout_odds(x, t_x, T))

    def expected_purchases(self, t: float, x, t_x, T) -> np.ndarray:
        """E[purchases in (T, T + t] | x, t_x, T] (equation 10 of the paper).

        The paper's ((α+T)/(α+T+t))^(r+x) ₂F₁(r+x, b+x; a+b+x−1; z), z = t/(α+T+t), is taken
        through Euler's transformation ₂F₁(A, B; C; z) = (1−z)^(C−A−B) ₂F₁(C−A, C−B; C; z): as
        1 − z = (α+T)/(α+T+t) the powers meet in (1−z)^(a−1), and the series left has terms that
        fall like n^(a−r−x−2) zⁿ from the start, where the paper's first grow like n^(r+x+1−a)."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        x, t_x, T = np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in (x, t_x, T)))
        # The series depends on x and T alone: summed once per distinct pair, not per customer.
        pairs, inverse = np.unique(
            np.column_stack([x.ravel(), T.ravel()]), axis=0, return_inverse=True
        )
        each_x, each_T = pairs[:, 0], pairs[:, 1]
        z = t / (alpha + each_T + t)
        series = (1 - z) ** (a - 1) * hyp2f1(a + b - 1 - r, a - 1, a + b + each_x - 1, z)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - series[inverse.ravel()].reshape(x.shape)
        return head * tail / (1 + self._dropout_odds(x, t_x, T))

    def _dropout_odds(self, x, t_x, T) -> np.ndarray:
        """P(gone after the last purchase) / P(alive); 0 for a customer with no repeat."""
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        log_odds = (
            np.log(a)
            - np.log(b + np.maximum(x, 1) - 1)
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, np.exp(np.minimum(log_odds, 700.0)), 0.0)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float
    log_likelihood: float
    problem: str | None = None

    def expected_value(self, x, mean_value) -> np.ndarray:
        """E[M | x, m̄]: the mean repeat value, shrunk toward the population's (x = 0: its mean)."""
        x, m = np.asarray(x, dtype=float), np.asarray(mean_value, dtype=float)
        p, q, gamma = self.p, self.q, self.gamma
        return (gamma + m * x) * p / (p * x + q - 1)


@dataclass(frozen=True)
class _ByX:
    """Customers' x and weights, and each distinct x with its summed weight: the Gamma and Beta
    terms depend on x alone, so they are computed once per distinct x, not per customer."""

    x: np.ndarray
    weights: np.ndarray
    distinct: np.ndarray
    distinct_weights: np.ndarray

    @classmethod
    def of(cls, x, weights) -> _ByX:
        distinct, inverse = np.unique(x, return_inverse=True)
        return cls(x, weights, distinct, np.bincount(inverse.ravel(), weights=weights))


def bgnbd_log_likelihood(params, x, t_x, T, weights=None) -> float:
    """Σ weight × log P(x, t_x | r, α, a, b, T)."""
    x, t_x, T, weights = _arrays(x, t_x, T, weights=weights)
    return _bgnbd(np.log(np.asarray(params, dtype=float)), _ByX.of(x, weights), t_x, T)[0]


def _bgnbd(log_params, c: _ByX, t_x, T) -> tuple[float, np.ndarray]:
    """The log-likelihood and its gradient in the log-parameters."""
    r, alpha, a, b = np.exp(log_params)
    x, w, ux, uw, n = c.x, c.weights, c.distinct, c.distinct_weights, c.weights.sum()
    # log[(α+T)^-(r+x) + [x > 0] a/(b+x-1) (α+t_x)^-(r+x)]: alive at T, or gone after t_x
    after_last = b + np.maximum(x, 1) - 1
    log_alive = -(r + x) * np.log(alpha + T)
    log_gone = np.where(x > 0, np.log(a / after_last) - (r + x) * np.log(alpha + t_x), -np.inf)
    either = np.logaddexp(log_alive, log_gone)
    alive, gone = np.exp(log_alive - either), np.exp(log_gone - either)
    total = _dot(w, either) + n * r * np.log(alpha)
    total += _dot(uw, log_gamma(r + ux) - log_gamma(r) + log_beta(a, b + ux) - log_beta(a, b))
    d_r = _dot(uw, digamma(r + ux) - digamma(r)) + n * np.log(alpha)
    d_r -= _dot(w, alive * np.log(alpha + T) + gone * np.log(alpha + t_x))
    d_alpha = n * r / alpha - _dot(w, (r + x) * (alive / (alpha + T) + gone / (alpha + t_x)))
    d_a = _dot(uw, digamma(a + b) - digamma(a + b + ux)) + _dot(w, gone) / a
    d_b = _dot(uw, digamma(b + ux) - digamma(b) + digamma(a + b) - digamma(a + b + ux))
    d_b -= _dot(w, gone / after_last)
    return float(total), np.array([d_r * r, d_alpha * alpha, d_a * a, d_b * b])


def fit_bgnbd(x, t_x, T, weights=None) -> BgNbd:
    """Maximum likelihood; time is scaled by the longest T and α scaled back."""
    x, t_x, T, weights = _grouped(*_arrays(x, t_x, T, weights=weights))
    if not (x > 0).any() or T.max() <= 0:
        return BgNbd(np.nan, np.nan, np.nan, np.nan, np.nan, TOO_FEW)
    scale = 1.0 / T.max()
    objective = partial(_bgnbd, c=_ByX.of(x, weights), t_x=t_x * scale, T=T * scale)
    starts = product((0.3, 3.0), (0.1, 1.0), (0.5, 3.0), (1.0, 5.0))
    found, log_likelihood, problem = _maximise(objective, starts, weights.sum())
    r, alpha, a, b = np.exp(found)
    # Time scaled by s divides each customer's likelihood by s^x.
    log_likelihood += float(weights @ x) * np.log(scale)
    if problem is None and log_likelihood > 0:
        problem = POSITIVE_LOG_LIKELIHOOD  # the log of a probability
    return BgNbd(float(r), float(alpha / scale), float(a), float(b), log_likelihood, problem)


def gamma_gamma_log_likelihood(params, x, mean_value, weights=None) -> float:
    """Σ weight × log f(m̄ | p, q, γ, x), the density of the mean value."""
    x, m, weights = _arrays(x, mean_value, weights=weights)
    return _gamma_gamma(np.log(np.asarray(params, dtype=float)), _ByX.of(x, weights), m)[0]


def _gamma_gamma(log_params, c: _ByX, m) -> tuple[float, np.ndarray]:
    p, q, gamma = np.exp(log_params)
    x, w, ux, uw, n = c.x, c.weights, c.distinct, c.distinct_weights, c.weights.sum()
    log_spread = np.log(gamma + m * x)
    both = digamma(p * ux + q)
    total = _dot(uw, log_gamma(p * ux + q) - log_gamma(p * ux) - log_gamma(q) + p * ux * np.log(ux))
    total += n * q * np.log(gamma) + _dot(w, (p * x - 1) * np.log(m) - (p * x + q) * log_spread)
    d_p = _dot(uw, ux * (both - digamma(p * ux) + np.log(ux))) + _dot(
        w, x * (np.log(m) - log_spread)
    )
    d_q = _dot(uw, both - digamma(q)) + n * np.log(gamma) - _dot(w, log_spread)
    d_gamma = n * q / gamma - _dot(w, (p * x + q) / (gamma + m * x))
    return float(total), np.array([d_p * p, d_q * q, d_gamma * gamma])


def _dot(weights: np.ndarray, values: np.ndarray) -> float:
    """Σ weights × values in numpy's own loop: `@` calls BLAS, whose threads spin between a fit's
    thousands of calls (five times the CPU with 160,000 distinct customers on a busy machine)."""
    return float(np.einsum("i,i", weights, values))


def fit_gamma_gamma(x, mean_value, weights=None, resolution: float = 0.01) -> GammaGamma:
    """Fitted on customers with at least one repeat purchase and a positive mean value; money is
    scaled by its mean and γ scaled back.

    `resolution` is the smallest step of money in the values' unit (a fen, for yuan). A mean of x
    values is known to resolution / x, so a density that gives such a step more than certainty
    (a log-likelihood above zero once counted in steps) is piling itself onto the data points:
    not a maximum worth using."""
    x, m, weights = _arrays(x, mean_value, weights=weights)
    kept = (x > 0) & (m > 0)
    x, m, weights = _grouped(x[kept], m[kept], weights[kept])
    if len(x) < 2:
        return GammaGamma(np.nan, np.nan, np.nan, np.nan, TOO_FEW)
    scale = 1.0 / float(np.average(m, weights=weights))
    objective = partial(_gamma_gamma, c=_ByX.of(x, weights), m=m * scale)
    starts = product((1.0, 10.0), (2.0, 10.0), (1.0, 10.0))
    found, log_likelihood, problem = _maximise(objective, starts, weights.sum())
    p, q, gamma = np.exp(found)
    # Money scaled by s divides each density by s.
    log_likelihood += float(weights.sum()) * np.log(scale)
    in_steps = log_likelihood + float(weights @ (np.log(resolution) - np.log(x)))
    if problem is None and in_steps > 0:
        problem = POSITIVE_LOG_LIKELIHOOD
    if problem is None and q <= 1:
        problem = NO_FINITE_MEAN  # the population's mean value p·γ/(q − 1) does not exist
    return GammaGamma(float(p), float(q), float(gamma / scale), log_likelihood, problem)


def _maximise(objective: Objective, starts, size: float) -> tuple[np.ndarray, float, str | None]:
    """The best finite maximum from the starts (parameter values, taken on a log scale), its
    log-likelihood, and why it is not a proper maximum (None when it is)."""
    starts = [np.log(np.asarray(start, dtype=float)) for start in starts]

    def negative(log_params: np.ndarray) -> tuple[float, np.ndarray]:
        with np.errstate(all="ignore"):
            value, gradient = objective(log_params)
        if not np.isfinite(value) or not np.all(np.isfinite(gradient)):
            return np.inf, np.zeros_like(log_params)
        return -value / size, -gradient / size  # per customer: the tolerances mean the same

    best: tuple[np.ndarray, float] | None = None
    agreeing = 0
    for start in starts:
        found, value = _minimise(negative, start)
        if not np.isfinite(value):
            continue
        if best is not None and abs(value - best[1]) < 1e-9:
            agreeing += 1
        elif best is None or value < best[1]:
            best, agreeing = (found, value), 1
        if agreeing >= AGREEING_STARTS:
            break
    if best is None:
        return np.full(len(starts[0]), np.nan), np.nan, NOT_FINITE
    at_bound = np.any(np.abs(np.abs(best[0]) - LOG_BOUND) < AT_BOUND)
    return best[0], -best[1] * size, AT_A_BOUND if at_bound else None


def _minimise(negative: Objective, start: np.ndarray) -> tuple[np.ndarray, float]:
    """A local minimum within ±LOG_BOUND, by projected Newton steps (Bertsekas 1982): a parameter
    at a bound that the gradient pushes outward stays there; the others take a Newton step, with
    the Hessian from forward differences of the analytic gradient and its eigenvalues taken in
    absolute value and floored, so every step goes downhill; a step is halved until the projected
    point gains enough (Armijo). It stops when the free gradient is below 1e-10 or a step gains
    less than 1e-15 of the value: about as far as double precision goes, so that starts reaching
    the same maximum agree to 1e-9 (AGREEING_STARTS)."""
    x = np.clip(start, -LOG_BOUND, LOG_BOUND)
    value, gradient = negative(x)
    if not np.isfinite(value):
        return x, np.inf
    for _ in range(MAX_NEWTON_STEPS):
        free = ~(((x <= -LOG_BOUND) & (gradient > 0)) | ((x >= LOG_BOUND) & (gradient < 0)))
        if not free.any() or np.abs(gradient[free]).max() < 1e-10:
            break
        direction = np.zeros_like(x)
        direction[free] = _newton_step(negative, x, gradient, free)
        stepped = _step(negative, x, value, gradient, direction)
        if stepped is None:
            break
        gain = value - stepped[1]
        x, value, gradient = stepped
        if gain <= 1e-15 * max(abs(value), 1.0):
            break
    return x, value


def _newton_step(negative: Objective, x, gradient, free) -> np.ndarray:
    """−H⁻¹g over the free parameters, H with its eigenvalues made positive."""
    columns = []
    for i in np.flatnonzero(free):
        nudge = np.zeros_like(x)
        nudge[i] = HESSIAN_STEP
        columns.append((negative(x + nudge)[1] - gradient)[free] / HESSIAN_STEP)
    hessian = np.array(columns)
    hessian = (hessian + hessian.T) / 2
    if not np.all(np.isfinite(hessian)):
        return -gradient[free]
    values, vectors = np.linalg.eigh(hessian)
    values = np.maximum(np.abs(values), 1e-8 * max(np.abs(values).max(), 1.0))
    return -vectors @ ((vectors.T @ gradient[free]) / values)


def _step(negative: Objective, x, value, gradient, direction):
    """The first of the step and its halves whose projected point gains at least 1e-4 of what the
    gradient promises: (point, value, gradient), or None when none does."""
    length = 1.0
    for _ in range(60):
        point = np.clip(x + length * direction, -LOG_BOUND, LOG_BOUND)
        moved = point - x
        if not moved.any():
            return None
        found, slope = negative(point)
        if found <= value + 1e-4 * float(gradient @ moved):
            return point, found, slope
        length /= 2
    return None


def _arrays(*columns, weights=None) -> tuple[np.ndarray, ...]:
    found = [np.asarray(column, dtype=float).ravel() for column in columns]
    weights = np.ones_like(found[0]) if weights is None else np.asarray(weights, dtype=float)
    return (*found, weights)


def _grouped(*columns):
    """Identical rows once, with their weights (the last column) summed: a lake of a million
    customers has far fewer distinct (x, t_x, T)."""
    *values, weights = columns
    if len(weights) == 0:
        return columns
    unique, inverse = np.unique(np.column_stack(values), axis=0, return_inverse=True)
    summed = np.bincount(inverse.ravel(), weights=weights)
    return (*(unique[:, i] for i in range(unique.shape[1])), summed)
