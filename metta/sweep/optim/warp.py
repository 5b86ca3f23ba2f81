"""Score transform before Protein's GP: standardise, then a Yeo-Johnson power transform fitted by maximum
likelihood (pure maths; tested against scipy's fit in tests/sweep/test_protein_acquisition.py)."""

from __future__ import annotations

import math

import numpy as np
from scipy.stats import yeojohnson

_LAMBDA_GRID = np.linspace(-2.975, 2.975, 120)  # step 0.05, avoids the special cases 0 and 2


def yeojohnson_lambda(y: np.ndarray) -> float:
    """Maximum-likelihood Yeo-Johnson exponent on a 0.05 grid in [-3, 3] (vectorised; scipy's Brent fit is slow)."""
    y = np.asarray(y, dtype=float)
    lm = _LAMBDA_GRID[:, None]
    pos = y >= 0
    with np.errstate(over="ignore", invalid="ignore"):
        t = np.where(
            pos, (np.power(1.0 + np.abs(y), lm) - 1.0) / lm, -(np.power(1.0 + np.abs(y), 2.0 - lm) - 1.0) / (2.0 - lm)
        )
        var = t.var(axis=1)
        llf = -0.5 * y.size * np.log(var) + (_LAMBDA_GRID - 1.0) * float((np.sign(y) * np.log1p(np.abs(y))).sum())
    llf = np.where(np.isfinite(llf) & (var > 0), llf, -np.inf)
    return float(_LAMBDA_GRID[int(np.argmax(llf))]) if np.isfinite(llf).any() else 1.0


class ScoreWarp:
    """Score transform before the GP: standardise, then a Yeo-Johnson power transform fitted by maximum likelihood
    (compresses heavy tails such as Rosenbrock's; near identity for well-behaved scores). Invertible for reporting."""

    def __init__(self, y: np.ndarray) -> None:
        y = np.asarray(y, dtype=float)
        self.mean, self.std = float(y.mean()), float(y.std()) if y.size > 1 and y.std() > 0 else 1.0
        self.lmbda = 1.0
        if y.size >= 3 and y.std() > 0:
            self.lmbda = yeojohnson_lambda((y - self.mean) / self.std)

    def __call__(self, y: np.ndarray) -> np.ndarray:
        return yeojohnson((np.asarray(y, dtype=float) - self.mean) / self.std, self.lmbda)

    def inverse(self, t: float) -> float:
        lm = self.lmbda
        if t >= 0:
            z = math.expm1(t) if abs(lm) < 1e-9 else (max(t * lm + 1.0, 1e-12)) ** (1.0 / lm) - 1.0
        else:
            q = 2.0 - lm
            z = -math.expm1(-t) if abs(q) < 1e-9 else 1.0 - (max(1.0 - q * t, 1e-12)) ** (1.0 / q)
        return z * self.std + self.mean
