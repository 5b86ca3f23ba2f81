"""Which configuration a noisy sweep should recommend: the observed point with the best GP posterior mean.

The best *observed* score of a noisy objective is biased upwards (the winner's curse): among many similar
configurations the one that got the luckiest evaluation wins. A Gaussian process with a fitted noise term pools the
evidence of neighbouring points and of repeats (averaged, each average trusted in proportion to its count), so its
posterior mean at an observed point estimates that point's true score. Only observed points are eligible: the
recommendation is always a configuration that actually ran.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.optim.gp import GaussianProcess

MIN_POINTS_FOR_MODEL = 3


@dataclass(frozen=True)
class Recommendation:
    """One distinct observed configuration, scored by the model (metric units, the metric's own direction)."""

    index: int  # position (in the caller's list) of the first observation of this configuration
    members: tuple[int, ...]  # every observation of this configuration (repeats)
    posterior_mean: float
    posterior_std: float
    observed_mean: float
    noise_std: float  # fitted std of one evaluation (NaN without a model)


def group_repeats(x: np.ndarray) -> list[list[int]]:
    """Indices of identical rows of ``x`` (normalised coordinates), in order of first appearance."""
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, row in enumerate(np.asarray(x, dtype=float)):
        groups.setdefault(tuple(np.round(row, 9)), []).append(i)
    return list(groups.values())


def rank_by_posterior(
    x: np.ndarray, scores: np.ndarray, goal: str = "maximize", rng: np.random.Generator | None = None
) -> list[Recommendation]:
    """Distinct observed configurations, best posterior mean first.

    ``x`` (n, d) holds successful observations in normalised coordinates and ``scores`` (n,) their scores. With
    fewer than three distinct configurations there is nothing to pool, so the observed means rank them.
    """
    if goal not in ("maximize", "minimize"):
        raise OptimizerError(f"goal {goal!r} must be maximize or minimize")
    x = np.atleast_2d(np.asarray(x, dtype=float))
    s = np.asarray(scores, dtype=float).reshape(-1)
    if x.shape[0] != s.shape[0] or s.shape[0] == 0 or not np.all(np.isfinite(s)):
        raise OptimizerError(f"need finite scores, one per point; got {s.shape[0]} scores for {x.shape[0]} points")
    sign = -1.0 if goal == "minimize" else 1.0
    groups = group_repeats(x)
    gx = np.stack([x[g[0]] for g in groups])
    gy = np.array([sign * s[g].mean() for g in groups])
    reps = np.array([len(g) for g in groups], dtype=float)
    if len(groups) < MIN_POINTS_FOR_MODEL:
        mu, sd, noise = gy, np.full(gy.shape, np.nan), float("nan")
    else:
        with _single_thread():
            gp = GaussianProcess("matern52", restarts=2).fit(gx, gy, rng or np.random.default_rng(0), repeats=reps)
            mu, sd = gp.predict(gx)
        noise = gp.noise_std()
    order = sorted(range(len(groups)), key=lambda i: (-mu[i], -gy[i], groups[i][0]))
    return [
        Recommendation(groups[i][0], tuple(groups[i]), sign * float(mu[i]), float(sd[i]), sign * float(gy[i]), noise)
        for i in order
    ]


def _single_thread() -> Any:
    """One BLAS thread for small matrices (threads only add contention on a shared machine). Optional."""
    try:
        from threadpoolctl import threadpool_limits  # lazy: an optional package; without it BLAS is left alone
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
