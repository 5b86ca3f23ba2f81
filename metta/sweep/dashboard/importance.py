"""Parameter importance for the dashboard: rank correlation with the score, and permutation importance on a fitted
quadratic ridge model (which also sees parameters whose best value is inside the range, where a correlation is ~0).

Pure numpy; randomness (the permutations) comes from an explicit ``np.random.Generator``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from metta.sweep.dashboard.model import RunRow, numeric_matrix


@dataclass(frozen=True)
class Importance:
    """One parameter: Spearman correlation with the score (signed) and permutation importance (share of the score
    variance the model loses when the parameter is shuffled; 0 = irrelevant)."""

    name: str
    correlation: float
    permutation: float
    n: int


def _ranks(a: np.ndarray) -> np.ndarray:
    """Average ranks from 0 (ties share their mean rank), vectorised."""
    _, inverse, counts = np.unique(a, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts)
    return ((ends - counts + ends - 1) / 2.0)[inverse]


def spearman(x: np.ndarray, y: np.ndarray) -> float:
    """Spearman rank correlation (NaN with fewer than 3 points or a constant input)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan")
    rx, ry = _ranks(x), _ranks(y)
    return float(np.corrcoef(rx, ry)[0, 1])


def _design(x: np.ndarray, mu: np.ndarray, sd: np.ndarray) -> np.ndarray:
    z = (x - mu) / sd
    return np.hstack([np.ones((z.shape[0], 1)), z, z * z])


def fit_quadratic_ridge(x: np.ndarray, y: np.ndarray, alpha: float = 1e-3) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Ridge regression of ``y`` on ``[1, z, z^2]`` of the standardised columns of ``x``; returns (coef, mu, sd)."""
    mu = x.mean(axis=0)
    sd = x.std(axis=0)
    sd[sd == 0] = 1.0
    a = _design(x, mu, sd)
    penalty = alpha * x.shape[0] * np.eye(a.shape[1])
    penalty[0, 0] = 0.0
    coef = np.linalg.solve(a.T @ a + penalty, a.T @ y)
    return coef, mu, sd


def permutation_importance(x: np.ndarray, y: np.ndarray, rng: np.random.Generator, n_repeats: int = 5) -> np.ndarray:
    """Share of var(y) each column explains: the mean rise of the squared error when it is shuffled, halved (for an
    additive model, shuffling column j adds 2 var(f_j) to the error) and divided by var(y)."""
    n, d = x.shape
    if n < 2 * d + 2 or np.var(y) == 0:
        return np.full(d, np.nan)
    coef, mu, sd = fit_quadratic_ridge(x, y)
    base = np.mean((_design(x, mu, sd) @ coef - y) ** 2)
    out = np.zeros(d)
    for j in range(d):
        rises = []
        for _ in range(n_repeats):
            xp = x.copy()
            xp[:, j] = x[rng.permutation(n), j]
            rises.append(np.mean((_design(xp, mu, sd) @ coef - y) ** 2) - base)
        out[j] = max(float(np.mean(rises)), 0.0) / (2.0 * float(np.var(y)))
    return out


def parameter_importance(
    rows: Sequence[RunRow],
    names: Sequence[str],
    distributions: Mapping[str, str],
    rng: np.random.Generator,
    max_rows: int = 2000,
) -> list[Importance]:
    """Importance of each parameter over successful rows, most important first (permutation, then |correlation|).

    Log-distributed parameters are measured in log10 units; at most ``max_rows`` rows (a random subset) are used.
    """
    ok = [r for r in rows if r.ok]
    if len(ok) > max_rows:
        ok = [ok[i] for i in sorted(rng.choice(len(ok), size=max_rows, replace=False))]
    if not ok or not names:
        return [Importance(n, float("nan"), float("nan"), 0) for n in names]
    x = numeric_matrix(ok, names, distributions)
    y = np.array([r.score for r in ok], dtype=float)
    complete = ~np.isnan(x).any(axis=1)
    corr = [spearman(x[~np.isnan(x[:, j]), j], y[~np.isnan(x[:, j])]) for j in range(len(names))]
    perm = permutation_importance(x[complete], y[complete], rng)
    out = [Importance(n, corr[j], float(perm[j]), int((~np.isnan(x[:, j])).sum())) for j, n in enumerate(names)]

    def key(i: Importance) -> tuple[float, float]:
        p = -1.0 if np.isnan(i.permutation) else i.permutation
        c = 0.0 if np.isnan(i.correlation) else abs(i.correlation)
        return (-p, -c)

    return sorted(out, key=key)
