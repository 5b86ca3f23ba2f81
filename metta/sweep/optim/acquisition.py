"""Pure acquisition maths (maximisation convention): log expected improvement, UCB, cost-target weight, the test
of whether costs depend on the parameters, and the gradient polish of an acquisition from several starts.

Log-EI is used instead of EI so that candidates far below the incumbent still rank sensibly (EI underflows to 0).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
from scipy.optimize import minimize
from scipy.special import log_ndtr
from scipy.stats import f as f_dist

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def log_h(z: np.ndarray) -> np.ndarray:
    """log(phi(z) + z * Phi(z)), accurate for very negative z (asymptotic expansion below -6)."""
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    hi = z > -6.0
    zh = z[hi]
    out[hi] = np.log(np.maximum(np.exp(-0.5 * zh * zh - _LOG_SQRT_2PI) + zh * np.exp(log_ndtr(zh)), 1e-300))
    zl = z[~hi]
    # phi(z) + z Phi(z) ~ phi(z) / z^2 * (1 - 3/z^2 + 15/z^4) for z -> -inf
    out[~hi] = -0.5 * zl * zl - _LOG_SQRT_2PI - 2.0 * np.log(-zl) + np.log1p(-3.0 / zl**2 + 15.0 / zl**4)
    return out


def log_expected_improvement(mu: np.ndarray, sigma: np.ndarray, tau: np.ndarray | float) -> np.ndarray:
    """log E[max(f - tau, 0)] for f ~ N(mu, sigma^2); tau = -inf gives log(mu - min) style large values."""
    mu = np.asarray(mu, dtype=float)
    sigma = np.maximum(np.asarray(sigma, dtype=float), 1e-12)
    tau = np.broadcast_to(np.asarray(tau, dtype=float), mu.shape)
    finite = np.isfinite(tau)
    z = np.where(finite, (mu - np.where(finite, tau, 0.0)) / sigma, 50.0)
    return np.log(sigma) + log_h(z)


def expected_improvement(mu: np.ndarray, sigma: np.ndarray, tau: float) -> np.ndarray:
    """Plain EI (for tests and reporting): (mu - tau) Phi(z) + sigma phi(z)."""
    return np.exp(log_expected_improvement(mu, sigma, tau))


def upper_confidence_bound(mu: np.ndarray, sigma: np.ndarray, beta: float) -> np.ndarray:
    """mu + beta * sigma."""
    return np.asarray(mu, dtype=float) + float(beta) * np.asarray(sigma, dtype=float)


def log_cost_weight(pred_cost: np.ndarray, target_cost: float, rate: float) -> np.ndarray:
    """log of the cost-target weight: 0 up to ``target_cost``, then a Gaussian fall-off in log cost.

    The width of the fall-off is log(1 + rate): candidates much more expensive than the (1 + rate)-expanded
    Pareto cost are discouraged, never forbidden (the hard limit is ``max_suggestion_cost``).
    """
    c = np.maximum(np.asarray(pred_cost, dtype=float), 1e-300)
    width = max(math.log1p(rate), 1e-3)
    excess = np.maximum(np.log(c) - math.log(max(target_cost, 1e-300)), 0.0)
    return -0.5 * (excess / width) ** 2


def cost_signal_p(x: np.ndarray, log_cost: np.ndarray) -> float:
    """p-value that log cost depends on the (normalised) parameters: the smallest p of the per-parameter
    correlation tests (Pearson, n - 2 degrees of freedom), Bonferroni-corrected over the parameters that vary.

    Per-parameter tests need only three points, whatever the dimension (a cost usually follows one or two
    parameters: training length, batch size, model width). 1.0 with fewer than three points or equal costs; 0.0
    for an exact linear dependence. Wall-clock noise alone passes a level alpha with probability at most alpha."""
    x = np.atleast_2d(np.asarray(x, dtype=float))
    y = np.asarray(log_cost, dtype=float)
    n = y.shape[0]
    yc = y - y.mean()
    syy = float((yc**2).sum())
    if n < 3 or syy <= 1e-12 * max(1.0, float(np.abs(y).max()) ** 2):
        return 1.0
    xc = x - x.mean(0)
    sxx = (xc**2).sum(0)
    varies = sxx > 1e-12
    if not varies.any():
        return 1.0
    r = np.clip((xc[:, varies] * yc[:, None]).sum(0) / np.sqrt(sxx[varies] * syy), -1.0, 1.0)
    r2 = float(np.max(r * r))
    if r2 >= 1.0 - 1e-12:
        return 0.0
    t2 = r2 * (n - 2) / (1.0 - r2)
    return float(min(1.0, int(varies.sum()) * f_dist.sf(t2, 1, n - 2)))


def polish(
    score_fn: Callable[[np.ndarray], np.ndarray],
    starts: np.ndarray,
    free: np.ndarray,
    maxiter: int = 15,
    step: float = 1e-4,
) -> tuple[np.ndarray, np.ndarray]:
    """Gradient ascent (L-BFGS-B in the box [-1, 1]) of a vectorised acquisition from each start, moving only the
    ``free`` (continuous) coordinates. The gradient is a forward difference computed in one batched call (the point
    and its d nudged copies), so a GP prediction is one matrix product per step. Returns (points, values); a start
    is kept where polishing does not improve it."""
    starts = np.atleast_2d(np.asarray(starts, dtype=float))
    idx = np.flatnonzero(free)
    out_z, out_v = starts.copy(), np.asarray(score_fn(starts), dtype=float)
    if idx.size == 0:
        return out_z, out_v
    for k, z0 in enumerate(starts):

        def neg(u: np.ndarray, z0: np.ndarray = z0) -> tuple[float, np.ndarray]:
            z = z0.copy()
            z[idx] = u
            batch = np.repeat(z[None], idx.size + 1, axis=0)
            batch[np.arange(1, idx.size + 1), idx] += np.where(u + step <= 1.0, step, -step)
            v = np.asarray(score_fn(batch), dtype=float)
            if not np.all(np.isfinite(v)):
                return 1e10, np.zeros(idx.size)
            h = np.where(u + step <= 1.0, step, -step)
            return -float(v[0]), -(v[1:] - v[0]) / h

        res = minimize(
            neg, z0[idx], jac=True, method="L-BFGS-B", bounds=[(-1.0, 1.0)] * idx.size, options={"maxiter": maxiter}
        )
        if np.all(np.isfinite(res.x)) and -res.fun > out_v[k]:
            out_z[k, idx] = res.x
            out_v[k] = -float(res.fun)
    return out_z, out_v
