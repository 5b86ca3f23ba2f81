"""Which configuration a noisy sweep should recommend: the observed point with the best GP posterior mean.

The best *observed* score of a noisy objective is biased upwards (the winner's curse): among many similar
configurations the one that got the luckiest evaluation wins. A Gaussian process with a fitted noise term pools the
evidence of neighbouring points and of repeats (averaged, each average trusted in proportion to its count), so its
posterior mean at an observed point estimates that point's true score. Only observed points are eligible: the
recommendation is always a configuration that actually ran.

With few trials the noise itself is uncertain (a wiggly noise-free fit and a smooth noisy one explain the data about
equally well), so each recommendation also carries the 95% profile-likelihood interval of the noise and, when that
interval is wide, a "cautious" posterior under the largest plausible noise (docs/protein.md, "Noise").
"""

from __future__ import annotations

import contextlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from metta.common.errors import OptimizerError
from metta.sweep.optim.gp import GaussianProcess

MIN_POINTS_FOR_MODEL = 3
MAX_POINTS_FOR_INTERVAL = 100  # the noise profile re-fits the GP 15 times; beyond this the fit alone is reported
UNDETERMINED_FACTOR = 4.0  # a noise interval wider than this (hi / lo) means the sweep cannot tell noise from signal
_CHI2_95 = 1.92  # half the 95% quantile of chi-square with one degree of freedom


@dataclass(frozen=True)
class Recommendation:
    """One distinct observed configuration, scored by the model (metric units, the metric's own direction)."""

    index: int  # position (in the caller's list) of the first observation of this configuration
    members: tuple[int, ...]  # every observation of this configuration (repeats)
    posterior_mean: float
    posterior_std: float
    observed_mean: float
    noise_std: float  # fitted std of one evaluation (NaN without a model)
    noise_interval: tuple[float, float] = (math.nan, math.nan)  # 95% profile-likelihood range of noise_std
    # posterior mean and std under the largest plausible noise, when the interval is wide (else NaN): how good the
    # configuration looks if most of the sweep's spread was noise
    cautious: tuple[float, float] = (math.nan, math.nan)


def group_repeats(x: np.ndarray) -> list[list[int]]:
    """Indices of identical rows of ``x`` (normalised coordinates), in order of first appearance."""
    groups: dict[tuple[float, ...], list[int]] = {}
    for i, row in enumerate(np.asarray(x, dtype=float)):
        groups.setdefault(tuple(np.round(row, 9)), []).append(i)
    return list(groups.values())


def pool_repeats(
    x: np.ndarray, y: np.ndarray
) -> tuple[list[list[int]], np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Identical configurations pooled: (groups, their x, mean y, repeat count, scatter of y around the mean), the
    inputs of ``GaussianProcess.fit(x, y, repeats=..., within_ss=...)``."""
    groups = group_repeats(x)
    gx = np.stack([x[g[0]] for g in groups])
    gy = np.array([y[g].mean() for g in groups])
    reps = np.array([len(g) for g in groups], dtype=float)
    ss = np.array([float(((y[g] - y[g].mean()) ** 2).sum()) for g in groups])  # the repeats' own scatter
    return groups, gx, gy, reps, ss


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
    groups, gx, gy, reps, ss = pool_repeats(x, sign * s)
    noise_range = (math.nan, math.nan)
    mc = sc = np.full(gy.shape, np.nan)
    if len(groups) < MIN_POINTS_FOR_MODEL:
        mu, sd, noise = gy, np.full(gy.shape, np.nan), float("nan")
    else:
        rng = rng or np.random.default_rng(0)
        with _single_thread():
            gp = GaussianProcess("matern52", restarts=2).fit(gx, gy, rng, repeats=reps, within_ss=ss)
            mu, sd = gp.predict(gx)
            if len(groups) <= MAX_POINTS_FOR_INTERVAL:
                noise_range, top = noise_interval(gp, gx, gy, reps, rng, ss)
                if interval_is_wide(noise_range):
                    mc, sc = gp.refit_with_noise(gx, gy, top, rng, reps, ss).predict(gx)
        noise = gp.noise_std()
    order = sorted(range(len(groups)), key=lambda i: (-mu[i], -gy[i], groups[i][0]))
    return [
        Recommendation(
            groups[i][0],
            tuple(groups[i]),
            sign * float(mu[i]),
            float(sd[i]),
            sign * float(gy[i]),
            noise,
            noise_range,
            (sign * float(mc[i]), float(sc[i])),
        )
        for i in order
    ]


def interval_is_wide(interval: tuple[float, float]) -> bool:
    """Whether a noise interval spans more than ``UNDETERMINED_FACTOR``x: the data cannot pin the noise down."""
    lo, hi = interval
    return bool(np.isfinite(lo) and np.isfinite(hi) and hi > UNDETERMINED_FACTOR * max(lo, 1e-300))


def noise_interval(
    gp: GaussianProcess,
    x: np.ndarray,
    y: np.ndarray,
    reps: np.ndarray,
    rng: np.random.Generator,
    within_ss: np.ndarray | None = None,
) -> tuple[tuple[float, float], float]:
    """95% profile-likelihood interval of the noise std of one evaluation (target units), on a grid of 15 noise
    levels: every level whose likelihood, with the other hyperparameters re-fitted, is within 1.92 nats of the best.

    With few points a GP can explain the data as a wiggly noise-free function or as a smooth one plus noise, and
    the fitted noise is then an arbitrary pick between them; the interval says how wide that choice is. Also returns
    the largest grid level inside the interval (log noise variance, standardised units). Repeats of a configuration
    (``reps`` > 1, scatter ``within_ss``) measure the noise directly and narrow the interval."""
    lo, hi = gp.noise_bounds
    grid = np.linspace(lo, hi, 15)
    nll, std = gp.noise_profile(x, y, grid, rng, repeats=reps, within_ss=within_ss)
    thr = nll.min() + _CHI2_95
    inside = np.flatnonzero(nll <= thr)
    ends = []
    for k, step in ((int(inside.min()), -1), (int(inside.max()), 1)):
        out = k + step
        if 0 <= out < nll.size and nll[out] > nll[k]:  # where the profile crosses the threshold (log-std linear)
            t = (thr - nll[k]) / (nll[out] - nll[k])
            ends.append(math.exp((1.0 - t) * math.log(std[k]) + t * math.log(std[out])))
        else:
            ends.append(float(std[k]))
    return (ends[0], ends[1]), float(grid[int(inside.max())])


def _single_thread() -> Any:
    """One BLAS thread for small matrices (threads only add contention on a shared machine). Optional."""
    try:
        from threadpoolctl import threadpool_limits  # lazy: an optional package; without it BLAS is left alone
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")
