"""Pure Pareto-front maths over (score, cost): higher score and lower cost are better (or lower score with
``maximize=False``). A point is on the front when no other point is at least as good on both and strictly better on
one; of exact duplicates only the first is kept.
"""

from __future__ import annotations

import numpy as np

from metta.common.errors import OptimizerError


def _check(scores: np.ndarray, costs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    s = np.asarray(scores, dtype=float).reshape(-1)
    c = np.asarray(costs, dtype=float).reshape(-1)
    if s.shape != c.shape:
        raise OptimizerError(f"scores ({s.shape[0]}) and costs ({c.shape[0]}) differ in length")
    if not (np.all(np.isfinite(s)) and np.all(np.isfinite(c))):
        raise OptimizerError("Pareto front needs finite scores and costs; drop failures (NaN) first")
    return s, c


def pareto_front(scores: np.ndarray, costs: np.ndarray, maximize: bool = True) -> np.ndarray:
    """Indices of the non-dominated points, ordered by increasing cost (and so improving score)."""
    s, c = _check(scores, costs)
    if s.size == 0:
        return np.zeros(0, dtype=int)
    signed = s if maximize else -s
    order = np.lexsort((np.arange(s.size), -signed, c))  # cost asc, then score desc, then index asc
    keep = []
    best = -np.inf
    for i in order:
        if signed[i] > best:
            keep.append(i)
            best = signed[i]
    return np.asarray(keep, dtype=int)


def pareto_front_bruteforce(scores: np.ndarray, costs: np.ndarray, maximize: bool = True) -> np.ndarray:
    """O(n^2) reference implementation of :func:`pareto_front` (same tie rule and order), for tests."""
    s, c = _check(scores, costs)
    signed = s if maximize else -s
    keep = []
    for i in range(s.size):
        dominated = False
        for j in range(s.size):
            if j == i:
                continue
            no_worse = signed[j] >= signed[i] and c[j] <= c[i]
            strictly = signed[j] > signed[i] or c[j] < c[i]
            if (no_worse and strictly) or (signed[j] == signed[i] and c[j] == c[i] and j < i):
                dominated = True
                break
        if not dominated:
            keep.append(i)
    return np.asarray(sorted(keep, key=lambda i: (c[i], -signed[i], i)), dtype=int)


def front_value(front_scores: np.ndarray, front_costs: np.ndarray, at_costs: np.ndarray) -> np.ndarray:
    """Best front score reachable at each cost in ``at_costs`` (-inf below the cheapest front point).

    ``front_*`` must be a front in increasing cost order (as :func:`pareto_front` returns, maximize convention).
    """
    fs = np.asarray(front_scores, dtype=float)
    fc = np.asarray(front_costs, dtype=float)
    at = np.asarray(at_costs, dtype=float)
    idx = np.searchsorted(fc, at, side="right") - 1
    out = np.full(at.shape, -np.inf)
    ok = idx >= 0
    out[ok] = fs[idx[ok]]
    return out
