"""Statistics for validating sweep winners across seeds: summaries, bootstrap CIs, Welch's t-test, effect sizes.

Pure functions on plain sequences of floats. Randomness (the bootstrap) takes an explicit ``np.random.Generator``.
Degenerate inputs give NaN (never an exception) so a table with one seed still prints; the caller decides.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats as sps

from metta.common.errors import MettaError

VERDICT_BETTER = "better"
VERDICT_WORSE = "worse"
VERDICT_SAME = "not distinguishable"


def _arr(xs: Sequence[float]) -> np.ndarray:
    a = np.asarray(list(xs), dtype=float)
    if a.ndim != 1:
        raise MettaError(f"expected a flat sequence of numbers, got shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise MettaError(f"scores must be finite numbers, got {a.tolist()} (record NaN runs as failures)")
    return a


def mean(xs: Sequence[float]) -> float:
    """Arithmetic mean (NaN when empty)."""
    a = _arr(xs)
    return float(a.mean()) if a.size else math.nan


def std(xs: Sequence[float]) -> float:
    """Sample standard deviation (ddof=1; NaN with fewer than 2 values)."""
    a = _arr(xs)
    return float(a.std(ddof=1)) if a.size >= 2 else math.nan


def bootstrap_ci(
    xs: Sequence[float], rng: np.random.Generator, level: float = 0.95, n_resamples: int = 10_000
) -> tuple[float, float]:
    """Percentile bootstrap confidence interval of the mean: resample ``xs`` with replacement ``n_resamples`` times
    using ``rng``, and return the ``(1-level)/2`` and ``(1+level)/2`` quantiles of the resampled means.

    NaN bounds with fewer than 2 values (one value says nothing about the spread).
    """
    if not 0.0 < level < 1.0:
        raise MettaError(f"confidence level {level!r} must be in (0, 1), e.g. 0.95")
    if n_resamples < 1:
        raise MettaError(f"n_resamples={n_resamples} must be >= 1")
    a = _arr(xs)
    if a.size < 2:
        return math.nan, math.nan
    idx = rng.integers(0, a.size, size=(n_resamples, a.size))
    means = a[idx].mean(axis=1)
    lo, hi = np.quantile(means, [(1.0 - level) / 2.0, (1.0 + level) / 2.0])
    return float(lo), float(hi)


@dataclass(frozen=True)
class WelchResult:
    """Welch's unequal-variance t-test of mean(a) - mean(b): statistic, Welch-Satterthwaite dof, two-sided p."""

    t: float
    df: float
    p: float


def welch_t_test(a: Sequence[float], b: Sequence[float]) -> WelchResult:
    """Two-sided Welch t-test, t = (mean_a - mean_b) / sqrt(s_a^2/n_a + s_b^2/n_b).

    NaN when either sample has fewer than 2 values. When both variances are 0 the test is decided exactly:
    p = 1 for equal means, p = 0 (t = +-inf) otherwise.
    """
    x, y = _arr(a), _arr(b)
    if x.size < 2 or y.size < 2:
        return WelchResult(math.nan, math.nan, math.nan)
    vx, vy = x.var(ddof=1) / x.size, y.var(ddof=1) / y.size
    diff = float(x.mean() - y.mean())
    se2 = vx + vy
    if se2 == 0.0:
        if diff == 0.0:
            return WelchResult(0.0, math.nan, 1.0)
        return WelchResult(math.copysign(math.inf, diff), math.nan, 0.0)
    t = diff / math.sqrt(se2)
    df = se2**2 / (vx**2 / (x.size - 1) + vy**2 / (y.size - 1))
    p = float(2.0 * sps.t.sf(abs(t), df))
    return WelchResult(float(t), float(df), min(p, 1.0))


def pooled_std(a: Sequence[float], b: Sequence[float]) -> float:
    """Pooled sample standard deviation of two samples (NaN with fewer than 2 values in either)."""
    x, y = _arr(a), _arr(b)
    if x.size < 2 or y.size < 2:
        return math.nan
    return math.sqrt(((x.size - 1) * x.var(ddof=1) + (y.size - 1) * y.var(ddof=1)) / (x.size + y.size - 2))


def cohens_d(a: Sequence[float], b: Sequence[float]) -> float:
    """Effect size (mean_a - mean_b) / pooled sample std (NaN with < 2 values each or zero pooled spread)."""
    sd = pooled_std(a, b)
    if not math.isfinite(sd) or sd == 0.0:
        return math.nan
    return float((_arr(a).mean() - _arr(b).mean()) / sd)


def min_detectable_difference(sd: float, n_a: int, n_b: int, alpha: float = 0.05, power: float = 0.8) -> float:
    """Smallest true mean difference that a two-sided test at ``alpha`` finds with probability ``power``, for
    seed-to-seed spread ``sd`` and ``n_a``/``n_b`` seeds: (t[1-alpha/2] + t[power]) * sd * sqrt(1/n_a + 1/n_b) with
    n_a + n_b - 2 degrees of freedom (the usual t approximation; NaN for fewer than 2 seeds or an unknown sd)."""
    if n_a < 2 or n_b < 2 or not math.isfinite(sd) or sd < 0:
        return math.nan
    df = n_a + n_b - 2
    q = float(sps.t.ppf(1.0 - alpha / 2.0, df) + sps.t.ppf(power, df))
    return q * sd * math.sqrt(1.0 / n_a + 1.0 / n_b)


def seeds_needed(delta: float, sd: float, alpha: float = 0.05, power: float = 0.8, most: int = 1000) -> int | None:
    """Fewest seeds per configuration (both arms equal) whose detectable difference is at most ``|delta|``; None
    when even ``most`` seeds are not enough or the inputs are unknown."""
    if not (math.isfinite(delta) and math.isfinite(sd)) or delta == 0.0:
        return None
    if sd == 0.0:
        return 2
    lo, hi = 2, most
    if min_detectable_difference(sd, hi, hi, alpha, power) > abs(delta):
        return None
    while lo < hi:  # the detectable difference shrinks as n grows
        mid = (lo + hi) // 2
        if min_detectable_difference(sd, mid, mid, alpha, power) <= abs(delta):
            hi = mid
        else:
            lo = mid + 1
    return lo


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given; NaN stays NaN and is not counted)."""
    ps = [float(p) for p in pvalues]
    valid = sorted((p, i) for i, p in enumerate(ps) if not math.isnan(p))
    m = len(valid)
    out = [math.nan] * len(ps)
    running = 0.0
    for rank, (p, i) in enumerate(valid):
        running = max(running, min(1.0, (m - rank) * p))
        out[i] = running
    return out


def verdict(delta: float, p: float, alpha: float = 0.05, goal: str = "maximize") -> str:
    """``better`` / ``worse`` when p < alpha (direction from ``delta`` and ``goal``), else ``not distinguishable``."""
    if goal not in ("maximize", "minimize"):
        raise MettaError(f"goal {goal!r} must be maximize or minimize")
    if not 0.0 < alpha < 1.0:
        raise MettaError(f"alpha {alpha!r} must be in (0, 1), e.g. 0.05")
    if math.isnan(p) or math.isnan(delta) or p >= alpha or delta == 0.0:
        return VERDICT_SAME
    improved = delta > 0 if goal == "maximize" else delta < 0
    return VERDICT_BETTER if improved else VERDICT_WORSE


@dataclass(frozen=True)
class Summary:
    """n, mean, sample std and bootstrap CI of one configuration's scores."""

    n: int
    mean: float
    std: float
    ci_low: float
    ci_high: float


def summarize(xs: Sequence[float], rng: np.random.Generator, level: float = 0.95, n_resamples: int = 10_000) -> Summary:
    """:class:`Summary` of ``xs`` (bootstrap with ``rng``)."""
    lo, hi = bootstrap_ci(xs, rng, level, n_resamples)
    return Summary(len(list(xs)), mean(xs), std(xs), lo, hi)


PASS, FAIL, NA = "pass", "fail", "n/a"


def seed_plan_criteria(
    mean_: float,
    std_: float,
    ci: tuple[float, float],
    sweep_score: float | None,
    base_ci: tuple[float, float],
    goal: str = "maximize",
) -> dict[str, str]:
    """The three reproducibility criteria of the seed-validation plan, each ``pass``/``fail``/``n/a``:

    - ``keeps_90pct``: the validated mean keeps at least 90% of the configuration's own sweep score (for
      ``minimize``: is at most 10% of |score| worse);
    - ``std_below_15pct``: the sample std across seeds is below 15% of |mean|;
    - ``ci_separate``: its 95% CI does not overlap the baseline's 95% CI.
    """
    if goal not in ("maximize", "minimize"):
        raise MettaError(f"goal {goal!r} must be maximize or minimize")
    out = {"keeps_90pct": NA, "std_below_15pct": NA, "ci_separate": NA}
    if math.isfinite(mean_) and sweep_score is not None and math.isfinite(sweep_score):
        slack = 0.1 * abs(sweep_score)
        ok = mean_ >= sweep_score - slack if goal == "maximize" else mean_ <= sweep_score + slack
        out["keeps_90pct"] = PASS if ok else FAIL
    if math.isfinite(std_) and math.isfinite(mean_):
        out["std_below_15pct"] = PASS if std_ < 0.15 * abs(mean_) else FAIL
    if all(math.isfinite(v) for v in (*ci, *base_ci)):
        out["ci_separate"] = PASS if ci[0] > base_ci[1] or ci[1] < base_ci[0] else FAIL
    return out
