"""Acquisition maths against closed forms: log-EI, UCB and the cost-target weight."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import linregress, norm

from metta.sweep.optim.acquisition import (
    cost_signal_p,
    expected_improvement,
    log_cost_weight,
    log_expected_improvement,
    upper_confidence_bound,
)


def test_expected_improvement_matches_closed_form_and_monte_carlo() -> None:
    mu, sigma, tau = np.array([0.0, 1.0, -2.0, 0.3]), np.array([1.0, 0.5, 2.0, 1e-3]), 0.2
    z = (mu - tau) / sigma
    closed = (mu - tau) * norm.cdf(z) + sigma * norm.pdf(z)
    assert np.allclose(expected_improvement(mu, sigma, tau), closed, rtol=1e-9, atol=1e-15)
    rng = np.random.default_rng(0)
    draws = rng.normal(mu[0], sigma[0], 400_000)
    assert np.maximum(draws - tau, 0).mean() == pytest.approx(closed[0], rel=0.01)


def test_log_ei_is_finite_and_monotone_far_below_the_incumbent() -> None:
    mu = np.linspace(-60.0, 0.0, 601)
    v = log_expected_improvement(mu, np.ones_like(mu), 0.0)
    assert np.all(np.isfinite(v)) and np.all(np.diff(v) > 0)
    z = -5.9  # both branches agree where they meet
    assert log_expected_improvement(np.array([z]), np.array([1.0]), 0.0)[0] == pytest.approx(
        math.log(z * norm.cdf(z) + norm.pdf(z)), rel=1e-6
    )
    assert log_expected_improvement(np.array([-6.1]), np.array([1.0]), 0.0)[0] == pytest.approx(
        math.log(-6.1 * norm.cdf(-6.1) + norm.pdf(-6.1)), rel=1e-4
    )


def test_ucb_and_cost_weight() -> None:
    assert upper_confidence_bound(np.array([1.0]), np.array([0.5]), 2.0)[0] == 2.0
    w = log_cost_weight(np.array([1.0, 10.0, 12.5, 25.0]), 12.5, 0.25)
    assert w[0] == 0 and w[1] == 0 and w[2] == 0
    assert w[3] == pytest.approx(-0.5 * (math.log(2.0) / math.log(1.25)) ** 2)


def test_yeojohnson_grid_fit_matches_scipy_maximum_likelihood() -> None:
    from scipy.stats import yeojohnson_llf, yeojohnson_normmax

    from metta.sweep.optim.warp import yeojohnson_lambda

    rng = np.random.default_rng(0)
    for y in (rng.normal(size=30), rng.lognormal(size=50), -rng.lognormal(size=40), rng.normal(size=200) ** 3):
        y = (y - y.mean()) / y.std()
        ref = float(np.clip(yeojohnson_normmax(y), -3.0, 3.0))
        got = yeojohnson_lambda(y)
        assert abs(got - ref) <= 0.05
        assert yeojohnson_llf(got, y) >= yeojohnson_llf(ref, y) - 0.002 * y.size  # grid step 0.05


def test_polish_climbs_to_the_optimum_and_leaves_discrete_coordinates() -> None:
    from metta.sweep.optim.acquisition import polish

    target = np.array([0.3, -0.55, 0.0])
    calls = []

    def f(z: np.ndarray) -> np.ndarray:
        calls.append(z.shape[0])
        return -((z - target) ** 2).sum(1)

    starts = np.array([[-0.8, 0.9, 0.5], [0.9, 0.9, -0.5]])
    z, v = polish(f, starts, np.array([True, True, False]))
    assert np.allclose(z[:, :2], target[:2], atol=2e-3) and np.allclose(z[:, 2], starts[:, 2])
    assert np.all(v > f(starts))
    assert max(calls[1:]) == 3  # one batched call per step: the point and its two nudged copies
    z2, _ = polish(f, np.array([[0.99, 0.99, 0.0]]), np.array([True, True, True]))  # starts at the box edge
    assert np.all(np.abs(z2) <= 1.0) and np.allclose(z2[0], target, atol=2e-3)


def test_cost_signal_p_matches_linear_regression_and_controls_false_alarms() -> None:
    rng = np.random.default_rng(3)
    x = rng.uniform(-1.0, 1.0, 12)
    y = 0.3 * x + rng.normal(0.0, 0.2, 12)
    assert cost_signal_p(x[:, None], y) == pytest.approx(linregress(x, y).pvalue, rel=1e-9)  # d = 1: slope t-test
    xs = rng.uniform(-1.0, 1.0, (12, 3))
    slow = min(linregress(xs[:, j], y).pvalue for j in range(3)) * 3  # Bonferroni over three parameters
    assert cost_signal_p(xs, y) == pytest.approx(min(slow, 1.0), rel=1e-9)
    assert cost_signal_p(rng.uniform(size=(5, 2)), np.full(5, 3.0)) == 1.0  # equal costs
    assert cost_signal_p(rng.uniform(size=(2, 2)), rng.normal(size=2)) == 1.0  # two points: no test
    assert cost_signal_p(xs[:4], 1.0 + 2.0 * xs[:4, 1]) == 0.0  # exact dependence, even with n < d + 2
    # pure wall-clock noise (20% log-normal) on equal-budget trials: false alarms at most at the nominal rate
    ps = np.array([cost_signal_p(rng.uniform(-1, 1, (8, 2)), rng.normal(3.0, 0.2, 8)) for _ in range(4000)])
    assert 0.003 < float((ps < 0.01).mean()) < 0.015
    # a real cost dependence (4x over one parameter's range, 10% noise) is found from 8 points of 7 parameters
    hits = [
        cost_signal_p(z := rng.uniform(-1, 1, (8, 7)), 3.0 + 0.7 * z[:, 4] + rng.normal(0.0, 0.1, 8)) < 0.01
        for _ in range(200)
    ]
    assert np.mean(hits) > 0.9
