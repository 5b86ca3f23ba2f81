"""metta.sweep.validation.stats against closed forms and scipy reference implementations."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats as sps

from metta.common.errors import MettaError
from metta.sweep.validation import stats


def test_mean_std_closed_form() -> None:
    xs = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
    assert stats.mean(xs) == 5.0
    assert stats.std(xs) == pytest.approx(math.sqrt(32.0 / 7.0))  # sum of squared deviations = 32, ddof=1
    assert math.isnan(stats.std([1.0])) and math.isnan(stats.mean([]))
    with pytest.raises(MettaError, match="finite"):
        stats.mean([1.0, float("nan")])


def test_welch_matches_scipy_and_closed_form() -> None:
    a = [1.2, 2.3, 3.1, 2.8, 2.2, 1.9]
    b = [0.4, 1.1, 0.9, 2.5, 0.2]
    r = stats.welch_t_test(a, b)
    ref = sps.ttest_ind(a, b, equal_var=False)
    assert r.t == pytest.approx(float(ref.statistic), rel=1e-12)
    assert r.p == pytest.approx(float(ref.pvalue), rel=1e-10)
    va, vb = np.var(a, ddof=1) / 6, np.var(b, ddof=1) / 5
    assert r.df == pytest.approx((va + vb) ** 2 / (va**2 / 5 + vb**2 / 4))
    # symmetric: swapping the samples flips t, keeps p
    s = stats.welch_t_test(b, a)
    assert s.t == pytest.approx(-r.t) and s.p == pytest.approx(r.p)


def test_welch_degenerate_cases() -> None:
    assert math.isnan(stats.welch_t_test([1.0], [1.0, 2.0]).p)
    assert stats.welch_t_test([3.0, 3.0], [3.0, 3.0]).p == 1.0
    r = stats.welch_t_test([3.0, 3.0, 3.0], [1.0, 1.0])
    assert r.p == 0.0 and r.t == math.inf
    # identical samples: t = 0, p = 1
    assert stats.welch_t_test([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]).p == pytest.approx(1.0)


def test_cohens_d_closed_form() -> None:
    # both samples have sample variance 1 -> pooled sd 1 -> d = difference of means
    assert stats.cohens_d([1.0, 2.0, 3.0], [0.0, 1.0, 2.0]) == pytest.approx(1.0)
    assert stats.cohens_d([5.0, 6.0, 7.0], [1.0, 2.0, 3.0]) == pytest.approx(4.0)
    assert math.isnan(stats.cohens_d([1.0, 1.0], [1.0, 1.0]))


def test_bootstrap_ci_reproducible_and_close_to_normal_theory() -> None:
    xs = np.random.default_rng(1).normal(10.0, 2.0, size=400).tolist()
    lo1, hi1 = stats.bootstrap_ci(xs, np.random.default_rng(7))
    lo2, hi2 = stats.bootstrap_ci(xs, np.random.default_rng(7))
    assert (lo1, hi1) == (lo2, hi2)
    m, se = np.mean(xs), np.std(xs, ddof=1) / math.sqrt(len(xs))
    assert lo1 == pytest.approx(m - 1.96 * se, abs=0.1 * se * 1.96 + 0.02)
    assert hi1 == pytest.approx(m + 1.96 * se, abs=0.1 * se * 1.96 + 0.02)
    ref = sps.bootstrap(
        (np.asarray(xs),), np.mean, method="percentile", n_resamples=10_000, random_state=np.random.default_rng(3)
    ).confidence_interval
    assert lo1 == pytest.approx(ref.low, abs=0.05) and hi1 == pytest.approx(ref.high, abs=0.05)


def test_bootstrap_ci_exact_small_cases() -> None:
    assert stats.bootstrap_ci([4.0, 4.0, 4.0], np.random.default_rng(0)) == (4.0, 4.0)
    assert all(math.isnan(v) for v in stats.bootstrap_ci([4.0], np.random.default_rng(0)))
    # two values: resampled means are 0, 0.5 or 1 with probabilities 1/4, 1/2, 1/4 -> 95% interval is [0, 1]
    assert stats.bootstrap_ci([0.0, 1.0], np.random.default_rng(0)) == (0.0, 1.0)
    with pytest.raises(MettaError, match="level"):
        stats.bootstrap_ci([1.0, 2.0], np.random.default_rng(0), level=1.5)


def test_holm_closed_form() -> None:
    # sorted p: 0.01 (x3 = 0.03), 0.02 (x2 = 0.04), 0.04 (x1 = 0.04, monotone), NaN untouched
    out = stats.holm([0.04, 0.01, float("nan"), 0.02])
    assert out[0] == pytest.approx(0.04) and out[1] == pytest.approx(0.03) and out[3] == pytest.approx(0.04)
    assert math.isnan(out[2])
    assert stats.holm([0.5, 0.6]) == [1.0, 1.0]


@pytest.mark.parametrize(
    ("delta", "p", "goal", "expected"),
    [
        (1.0, 0.01, "maximize", "better"),
        (-1.0, 0.01, "maximize", "worse"),
        (1.0, 0.2, "maximize", "not distinguishable"),
        (-1.0, 0.01, "minimize", "better"),
        (1.0, 0.01, "minimize", "worse"),
        (1.0, float("nan"), "maximize", "not distinguishable"),
        (1.0, 0.05, "maximize", "not distinguishable"),
    ],
)
def test_verdict(delta: float, p: float, goal: str, expected: str) -> None:
    assert stats.verdict(delta, p, 0.05, goal) == expected


def test_summarize() -> None:
    s = stats.summarize([1.0, 2.0, 3.0, 4.0], np.random.default_rng(0), n_resamples=2000)
    assert (s.n, s.mean) == (4, 2.5)
    assert s.std == pytest.approx(math.sqrt(5.0 / 3.0))
    assert 1.0 <= s.ci_low < 2.5 < s.ci_high <= 4.0


def test_pooled_std_closed_form() -> None:
    a, b = [1.0, 3.0], [2.0, 4.0, 6.0]  # variances 2 and 4 -> pooled (1*2 + 2*4) / 3
    assert stats.pooled_std(a, b) == pytest.approx(math.sqrt(10.0 / 3.0))
    assert math.isnan(stats.pooled_std([1.0], b))


def test_min_detectable_difference_closed_form_and_limits() -> None:
    q = sps.t.ppf(0.975, 8) + sps.t.ppf(0.8, 8)
    assert stats.min_detectable_difference(0.04, 5, 5) == pytest.approx(q * 0.04 * math.sqrt(0.4))
    big = stats.min_detectable_difference(1.0, 100_000, 100_000)  # the normal-theory formula in the limit
    assert big == pytest.approx((1.959964 + 0.841621) * math.sqrt(2e-5), rel=1e-4)
    assert stats.min_detectable_difference(1.0, 10, 10) < stats.min_detectable_difference(1.0, 5, 5)
    assert math.isnan(stats.min_detectable_difference(1.0, 1, 5))
    assert math.isnan(stats.min_detectable_difference(math.nan, 5, 5))


@pytest.mark.parametrize("n", [6, 10])
def test_min_detectable_difference_has_the_stated_power_under_welch(n: int) -> None:
    """Monte Carlo reference: at a true difference equal to the MDD, Welch's test rejects ~80% of the time."""
    rng = np.random.default_rng(n)
    d = stats.min_detectable_difference(1.0, n, n)
    reps = 4000
    hits = sum(stats.welch_t_test(rng.normal(d, 1.0, n), rng.normal(0.0, 1.0, n)).p < 0.05 for _ in range(reps))
    assert 0.76 <= hits / reps <= 0.84  # Welch's df is a little below the pooled df: slightly under 0.8 at small n


def test_seeds_needed_is_the_smallest_sufficient_n() -> None:
    n = stats.seeds_needed(0.04, 0.04)
    assert n is not None and n > 2
    assert stats.min_detectable_difference(0.04, n, n) <= 0.04 < stats.min_detectable_difference(0.04, n - 1, n - 1)
    assert stats.seeds_needed(-0.04, 0.04) == n  # direction does not matter
    assert stats.seeds_needed(1e-6, 1.0) is None  # more than 1000
    assert stats.seeds_needed(0.0, 1.0) is None and stats.seeds_needed(0.1, math.nan) is None
